// The shell: server rendering, hydration, the live Redis overview, keyboard tabs, dev banner.
import { test, expect } from './fixtures';
import { bearer, signIn } from './auth';
import * as fs from 'node:fs';

const shots = 'output/screenshots';

test.beforeAll(() => fs.mkdirSync(shots, { recursive: true }));

test('pages are rendered on the server before any script runs', async ({ browser, request, baseURL }) => {
  const html = await (await request.get('/redis', { headers: bearer() })).text();
  for (const tab of ['tab-cache', 'tab-warming', 'tab-redis', 'tab-audit']) {
    expect(html).toContain(`data-testid="${tab}"`);
  }
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  // The hand-off form works without scripts too.
  await signIn(page, baseURL!);
  await page.goto('/redis');
  await expect(page.getByTestId('tab-redis')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('overview-version')).not.toBeEmpty();
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  await context.close();
});

test('the page hydrates and the overview updates on its own', async ({ page }) => {
  await page.goto('/redis');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const stats = page.getByTestId('overview-stats');
  const firstSample = await stats.getAttribute('data-sampled-at');
  const firstUptime = await page.getByTestId('overview-uptime').textContent();
  await page.getByTestId('overview-interval').selectOption('2000');
  await expect(stats).not.toHaveAttribute('data-sampled-at', firstSample!);
  await expect(page.getByTestId('overview-uptime')).not.toHaveText(firstUptime!);
  expect(page.url()).toMatch(/\/redis$/);
  await page.screenshot({ path: `${shots}/redis.png`, fullPage: true });
});

test('polling stops when switched off', async ({ page }) => {
  await page.goto('/redis');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByTestId('overview-interval').selectOption('2000');
  const stats = page.getByTestId('overview-stats');
  const before = await stats.getAttribute('data-sampled-at');
  await expect(stats).not.toHaveAttribute('data-sampled-at', before!);
  await page.getByTestId('overview-interval').selectOption('off');
  const frozen = await stats.getAttribute('data-sampled-at');
  // Two polling periods pass without a new sample.
  await page.waitForTimeout(4500);
  await expect(stats).toHaveAttribute('data-sampled-at', frozen!);
});

test('tabs work from the keyboard', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('tab-cache')).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('tab-cache').focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('tab-warming')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/warming$/);
  await expect(page.getByTestId('tab-warming')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('warming-page')).toBeVisible();
  await page.screenshot({ path: `${shots}/warming.png`, fullPage: true });
  await page.keyboard.press('End');
  await expect(page.getByTestId('tab-audit')).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(page.getByTestId('tab-redis')).toBeFocused();
  await page.keyboard.press('Home');
  await expect(page.getByTestId('tab-cache')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('cache-page')).toBeVisible();
  await page.screenshot({ path: `${shots}/cache.png`, fullPage: true });
});

test('a tab\'s pages are links under it: the tab stays selected and the page shown is marked', async ({ page }) => {
  await page.goto('/warming');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const pages = page.getByRole('navigation', { name: 'Warming pages' });
  await expect(pages.getByRole('link')).toHaveText(['Jobs', 'Sources', 'History', 'Schedules', 'Memory guard & sessions']);
  await expect(page.getByTestId('warming-jobs')).toHaveAttribute('aria-current', 'page');
  for (const [link, url, testId] of [['warming-sources', /\/warming\/sources$/, 'source-status'],
    ['warming-history', /\/warming\/history$/, 'recent-jobs'], ['warming-schedules', /\/warming\/schedules$/, 'schedules'],
    ['warming-settings', /\/warming\/settings$/, 'guard-settings'], ['warming-jobs', /\/warming$/, 'warm-start']] as const) {
    await page.getByTestId(link).click();
    await expect(page).toHaveURL(url);
    await expect(page.getByTestId(testId)).toBeVisible();
    await expect(page.getByTestId(link)).toHaveAttribute('aria-current', 'page');
    await expect(pages.locator('[aria-current="page"]')).toHaveCount(1);
    await expect(page.getByTestId('tab-warming')).toHaveAttribute('aria-selected', 'true');
  }
  await page.getByTestId('tab-redis').click();
  await expect(page.getByTestId('redis-page-overview')).toHaveAttribute('aria-current', 'page');
  await page.getByTestId('redis-page-keys').click();
  await expect(page).toHaveURL(/\/redis\/keys$/);
  await expect(page.getByTestId('key-list')).toBeVisible();
  await expect(page.getByTestId('tab-redis')).toHaveAttribute('aria-selected', 'true');
  await page.screenshot({ path: `${shots}/redis-keys.png`, fullPage: true });
});

test('the header says who is signed in, with no development banner', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('current-user')).toHaveText('Ada Admin');
  await expect(page.getByTestId('sign-out')).toBeVisible();
  await expect(page.getByTestId('connection-status')).toHaveText(/Redis connected/);
  await expect(page.getByTestId('dev-banner')).toHaveCount(0);
});

// Each tab opened directly (not reached by a client-side link) must hydrate cleanly and offer the
// admin's write actions at once: the server drew them, and hydration has to agree with it.
for (const [path, testId] of [['/', 'warm-all'], ['/warming', 'warm-start'], ['/warming/schedules', 'schedule-save'],
  ['/redis/keys', 'purge-preview']]) {
  test(`${path} opened directly hydrates and offers the write actions`, async ({ page, request }) => {
    const html = await (await request.get(path, { headers: bearer() })).text();
    expect(html, 'the server draws the write action').toContain(`data-testid="${testId}"`);
    await page.goto(path);
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await expect(page.getByTestId(testId).first()).toBeVisible();
  });
}
