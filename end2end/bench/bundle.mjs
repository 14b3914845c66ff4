// The WASM and JS a first visit to each tab downloads, as sent (compressed), a benchmark (a
// command, not a test). Each tab is loaded in a fresh browser context (empty cache) until it has
// hydrated; the last line is a whole tour (every tab in turn, one context), which adds the other
// tabs' chunks to the first page's download. Start a Hearth in dev mode first (see
// BENCHMARKS.md), then:
//   node end2end/bench/bundle.mjs            [HEARTH_URL=http://127.0.0.1:3199] [ENCODING=gzip|br]
import { chromium } from '@playwright/test';

const base = process.env.HEARTH_URL ?? 'http://127.0.0.1:3199';
const encoding = process.env.ENCODING ?? 'gzip';
const pages = ['/', '/warming', '/warming/sources', '/warming/history', '/warming/schedules', '/warming/settings',
  '/redis', '/redis/keys', '/audit', '/sources/3'];

/** Bytes of `.wasm` and `.js` under /pkg/ received while `during` ran (as sent: compressed,
 * response headers included). */
async function downloaded(cdp, during) {
  const urls = new Map();
  const totals = { wasm: 0, js: 0, wasmFiles: 0 };
  const onResponse = (e) => urls.set(e.requestId, e.response.url);
  const onDone = (e) => {
    const url = urls.get(e.requestId) ?? '';
    const kind = url.match(/\/pkg\/[^?]+\.(wasm|js)(\?|$)/)?.[1];
    if (!kind) return;
    totals[kind] += e.encodedDataLength;
    if (kind === 'wasm') totals.wasmFiles += 1;
  };
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.loadingFinished', onDone);
  await during();
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.loadingFinished', onDone);
  return totals;
}

async function hydrated(page, path) {
  await page.goto(base + path);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  // A lazily loaded tab hydrates once its chunks are in; let any late fetch finish too.
  await page.waitForLoadState('networkidle');
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
async function freshPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'accept-encoding': encoding } });
  return { context, page, cdp };
}
const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
console.log(`first load of each tab, ${encoding}:`);
for (const path of pages) {
  const { context, page, cdp } = await freshPage();
  const t = await downloaded(cdp, () => hydrated(page, path));
  console.log(`${path.padEnd(12)} WASM ${kb(t.wasm)} in ${t.wasmFiles} files, JS ${kb(t.js)}`);
  await context.close();
}
const { context, page, cdp } = await freshPage();
const tour = await downloaded(cdp, async () => {
  for (const path of pages) await hydrated(page, path);
});
// (Files a later page took from the cache count in `wasmFiles` with almost no bytes: not shown.)
console.log(`${'every tab'.padEnd(12)} WASM ${kb(tour.wasm)}, JS ${kb(tour.js)}`);
await context.close();
await browser.close();
