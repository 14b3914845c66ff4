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
  const answer = await page.request.get('/warming');
  const html = await answer.text();
  const js = html.match(/href="(\/pkg\/hearth\.[0-9a-f]{16}\.js)"/)?.[1];
  const wasm = html.match(/href="(\/pkg\/hearth\.[0-9a-f]{16}\.wasm)"/)?.[1];
  const css = html.match(/href="(\/pkg\/hearth\.[0-9a-f]{16}\.css)"/)?.[1];
  // The tab's own lazily loaded chunks and their loader are preloaded with the page.
  const loader = html.match(/href="(\/pkg\/__wasm_split\.[0-9a-f]{16}\.js)"/)?.[1];
  const chunks = [...html.matchAll(/href="(\/pkg\/(?:chunk|split)_\w+\.[0-9a-f]{16}\.wasm)"/g)].map((m) => m[1]);
  const seen = `${answer.status()} ${answer.url()}: ${[...html.matchAll(/href="([^"]*\/pkg\/[^"]*)"/g)].map((m) => m[1]).join(' ') || html.slice(0, 400)}`;
  expect(js && wasm && css && loader, `the page links content-hashed names (${seen})`).toBeTruthy();
  expect(chunks.find((c) => c.includes('__warming_tab_view')), `the Warming tab's chunk is preloaded (${chunks.length} chunks)`).toBeTruthy();
  expect(chunks.find((c) => c.includes('redis_')), "another tab's chunk is not").toBeUndefined();
  expect(chunks.find((c) => c.includes('warming_schedules')), "another page's chunk is not").toBeUndefined();
  for (const url of [js!, wasm!, loader!, ...chunks]) {
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
    await page.goto('/warming');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  });
  expect(second, `fetched again (first load fetched ${first.length})`).toEqual([]);
  // Another tab, reached by its link, fetches its own chunks only, and works.
  const redis = await fetchedBundles(cdp, async () => {
    await page.getByTestId('tab-redis').click();
    await expect(page.getByTestId('overview-version')).not.toBeEmpty();
  });
  expect(redis.filter((url) => !/\/pkg\/(chunk|split)_\w+\.[0-9a-f]{16}\.wasm$/.test(url)), 'only chunks').toEqual([]);
  expect(redis.find((url) => url.includes('redis_tab')), 'the Redis tab chunk').toBeTruthy();
});

test('a tab whose chunk cannot be fetched is loaded again as a whole page, the tab that was asked for', async ({ page, pageErrors }) => {
  await page.goto('/warming');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  // As after a redeploy that removed the old build's files: the Redis tab's chunk answers 404
  // once; the page loaded again gets the file.
  // The 404 is held back until the address bar has been read.
  let refused = 0;
  let answer404 = () => {};
  const held = new Promise<void>((resolve) => (answer404 = resolve));
  await page.route(/\/pkg\/split___redis_tab_view_\w+\.[0-9a-f]{16}\.wasm$/, async (route) => {
    if (refused++ > 0) return route.continue();
    await held;
    await route.fulfill({ status: 404, body: 'gone' });
  });
  const loadedAgain = page.waitForEvent('load');
  await page.getByTestId('tab-redis').click();
  await expect.poll(() => refused, 'the chunk was asked for').toBe(1);
  // Why the page cannot simply be reloaded: while the tab's chunk loads, the address bar still
  // names the tab being left.
  expect(page.url(), 'the address bar during the load').toMatch(/\/warming$/);
  answer404();
  await loadedAgain;
  expect(refused).toBeGreaterThanOrEqual(1);
  // The old page's panic is the expected one, and it is all that went wrong.
  expect(pageErrors.filter((e) => !/load callback should succeed|unreachable/.test(e)), 'other errors').toEqual([]);
  expect(pageErrors.length, 'the failed load was reported').toBeGreaterThan(0);
  pageErrors.splice(0);
  // The address bar changes only once a tab's chunk is in, so the page loaded again is the one
  // the admin clicked, not the one being left.
  await expect(page).toHaveURL(/\/redis$/);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('overview-version')).not.toBeEmpty();
  await expect(page.getByTestId('tab-redis')).toHaveAttribute('aria-selected', 'true');
});

test('every page render preloads its own tab, however many are rendered at once', async ({ page }) => {
  // A render that waits for Redis can finish on another server thread than it began; the
  // preloads (and their nonce) must come from that request's own render all the same.
  const tab: Record<string, string> = { '/': 'dashboard_tab', '/warming': 'warming_tab', '/warming/sources': 'warming_sources_tab',
    '/warming/history': 'warming_history_tab', '/warming/schedules': 'warming_schedules_tab', '/warming/settings': 'warming_settings_tab',
    '/redis': 'redis_tab', '/redis/keys': 'redis_keys_tab', '/audit': 'audit_tab', '/sources/1': 'source_tab' };
  const pages = Object.keys(tab);
  const answers = await Promise.all(
    Array.from({ length: 60 }, (_, i) => pages[i % pages.length]).map(async (path) => {
      const r = await page.request.get(path);
      return { path, status: r.status(), html: await r.text() };
    }),
  );
  for (const { path, status, html } of answers) {
    expect(status, path).toBe(200);
    const nonce = html.match(/<script nonce="([^"]+)"/)?.[1];
    expect(nonce, `${path} has a script nonce`).toBeTruthy();
    expect(html, `${path} preloads the chunk loader`).toMatch(/<link [^>]*href="\/pkg\/__wasm_split\.[0-9a-f]{16}\.js"/);
    const chunks = [...html.matchAll(/href="\/pkg\/((?:chunk|split)_\w+)\.[0-9a-f]{16}\.wasm"/g)].map((m) => m[1]);
    expect(chunks.find((c) => c.includes(`__${tab[path]}_view`)), `${path} preloads its tab's chunk (${chunks.join(' ')})`).toBeTruthy();
  }
});
