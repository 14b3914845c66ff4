// Static delivery in a real browser: the bundle a page links is content-hashed, answered
// compressed when asked, and a second page load takes the JS and WASM from the cache.
import type { CDPSession } from '@playwright/test';
import { test, expect } from './fixtures';

/** URLs of `/pkg/*.js|wasm` that came over the network (not from a cache) while `during` ran.
 * A memory-cache hit still raises `responseReceived` (with `fromDiskCache` false), so requests
 * Chromium reports as `requestServedFromCache` are left out too. */
async function fetchedBundles(cdp: CDPSession, during: () => Promise<void>): Promise<string[]> {
  const seen = new Map<string, string>();
  const cached = new Set<string>();
  const onResponse = (e: { requestId: string; response: { url: string; fromDiskCache?: boolean; fromPrefetchCache?: boolean; fromServiceWorker?: boolean } }) => {
    const r = e.response;
    if (/\/pkg\/[^?]+\.(js|wasm)(\?|$)/.test(r.url) && !r.fromDiskCache && !r.fromPrefetchCache && !r.fromServiceWorker) seen.set(e.requestId, r.url);
  };
  const onCached = (e: { requestId: string }) => cached.add(e.requestId);
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.requestServedFromCache', onCached);
  await during();
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.requestServedFromCache', onCached);
  return [...seen].filter(([id]) => !cached.has(id)).map(([, url]) => url);
}

test('the WASM and JS answer compressed and immutable, and a second load fetches neither again', async ({ page, context }) => {
  const html = await (await page.request.get('/warming')).text();
  const js = html.match(/href="(\/pkg\/hearth\.[0-9a-f]{16}\.js)"/)?.[1];
  const wasm = html.match(/href="(\/pkg\/hearth\.[0-9a-f]{16}\.wasm)"/)?.[1];
  const css = html.match(/href="(\/pkg\/hearth\.[0-9a-f]{16}\.css)"/)?.[1];
  expect(js && wasm && css, 'the page links content-hashed names').toBeTruthy();
  for (const url of [js!, wasm!]) {
    for (const encoding of ['br', 'gzip']) {
      const r = await page.request.get(url, { headers: { 'accept-encoding': encoding } });
      expect(r.status()).toBe(200);
      expect(r.headers()['content-encoding'], `${url} with ${encoding}`).toBe(encoding);
      expect(r.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    }
  }
  const page1 = await page.request.get('/warming');
  expect(page1.headers()['cache-control']).toBe('no-store');

  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const first = await fetchedBundles(cdp, async () => {
    await page.goto('/warming');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  });
  // The sign-in already loaded a page; whatever this first load fetched, the next fetches nothing.
  const second = await fetchedBundles(cdp, async () => {
    await page.goto('/redis');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  });
  expect(second, `fetched again (first load fetched ${first.length})`).toEqual([]);
});
