// Time to interactive of the console in Chromium, a benchmark (a command, not a test): from
// navigation start to the moment the page has hydrated (`body[data-hydrated]`), for a first load
// with an empty cache and for the next page of the same session, with the bytes that came over
// the network. Start a Hearth in dev mode first (see BENCHMARKS.md), then:
//   node end2end/bench/tti.mjs            [HEARTH_URL=http://127.0.0.1:3199] [RUNS=5]
//   MBIT=10 LATENCY_MS=40 node end2end/bench/tti.mjs     (a throttled link)
//   IDENTITY=1 node end2end/bench/tti.mjs                (refuse compression, as before)
import { chromium } from '@playwright/test';

const base = process.env.HEARTH_URL ?? 'http://127.0.0.1:3199';
const runs = Number(process.env.RUNS ?? 5);
const mbit = Number(process.env.MBIT ?? 0);
const latency = Number(process.env.LATENCY_MS ?? 0);

async function load(page, cdp, path) {
  let bytes = 0;
  const onDone = (e) => { bytes += e.encodedDataLength; };
  cdp.on('Network.loadingFinished', onDone);
  await page.goto(base + path);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  const ms = await page.evaluate(() => window.__hydratedAt);
  cdp.off('Network.loadingFinished', onDone);
  return { ms, bytes };
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const results = { cold: [], warm: [] };
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.getAttribute('data-hydrated') === 'true') {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (mbit > 0) {
    const bps = (mbit * 1_000_000) / 8;
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency, downloadThroughput: bps, uploadThroughput: bps });
  }
  if (process.env.IDENTITY) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'accept-encoding': 'identity' } });
  results.cold.push(await load(page, cdp, '/'));
  results.warm.push(await load(page, cdp, '/warming'));
  await context.close();
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [kind, list] of Object.entries(results)) {
  console.log(
    `${kind}: time to interactive median ${median(list.map((r) => r.ms)).toFixed(0)} ms ` +
      `(runs: ${list.map((r) => r.ms.toFixed(0)).join(', ')}), bytes over the network median ${median(list.map((r) => r.bytes))}`,
  );
}
