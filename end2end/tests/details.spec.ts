// The source page, the health report and truthful numbers (issue 13, points 1, 2, 6, 7), on the
// demo sources: charts with data points, a health breakdown that sums to the score, "no
// traffic yet" by the badge, entries and measures that drop after a slice invalidation, "last
// warmed" kept after a whole one, a cold source warmed from the report's link, and no console
// error on any page (the favicon included).
import type { APIRequestContext, Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { bearer } from './auth';
import { redis } from './redis';

test.setTimeout(240_000);

const prefix = process.env.HEARTH_E2E_PREFIX!;
const api = '/api/admin/analytics/cache';

async function hydrated(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Warms `ds` through the API (force) and waits until its job has completed. */
async function warmAndWait(request: APIRequestContext, ds: number) {
  const r = await request.post(`${api}/warm`, { headers: bearer(), data: { datasourceId: ds, force: true, reason: 'e2e details' } });
  expect(r.status()).toBe(200);
  const job = (await r.json()).data.jobId as string;
  await expect
    .poll(async () => (await (await request.get(`${api}/jobs/${job}`, { headers: bearer() })).json()).data.status, {
      timeout: 180_000,
    })
    .toBe('completed');
}

/** No horizontal scrolling at the current width. */
async function noSideScroll(page: Page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll, 'the page scrolls sideways').toBeLessThanOrEqual(client);
}

test('a freshly warmed source reads "no traffic yet"; after queries its page draws charts whose breakdown sums to the score', async ({ page, request }) => {
  await warmAndWait(request, 3);
  await hydrated(page, '/');
  const row = page.getByTestId('source-3');
  await expect(row.getByTestId('no-traffic')).toHaveText('no traffic yet');
  await row.getByTestId('source-link').click();
  await expect(page).toHaveURL(/\/sources\/3$/);
  await expect(page.getByTestId('source-head').getByTestId('no-traffic')).toBeVisible();
  await expect(page.getByTestId('part-hitRate').getByTestId('unmeasured')).toBeVisible();

  // A few queries: hits, and the hit rate is measured.
  for (const measure of ['Chair Hours', 'Infusion Visits', 'Drug Charges']) {
    const q = await request.get(`/api/analytics/cache/query?datasourceId=3&measure=${encodeURIComponent(measure)}&frequency=Monthly`, { headers: bearer() });
    expect(q.status()).toBe(200);
    expect((await q.json()).data.hit).toBe(true);
  }
  await hydrated(page, '/sources/3');
  await expect(page.getByTestId('source-head').getByTestId('no-traffic')).toHaveCount(0);
  await expect(page.getByTestId('part-hitRate').getByTestId('unmeasured')).toHaveCount(0);
  for (const chart of ['chart-hit-rate', 'chart-avg', 'chart-p95', 'chart-qpm']) {
    expect(await page.getByTestId(chart).getByTestId('chart-point').count(), chart).toBeGreaterThan(0);
  }
  await expect(page.getByTestId('chart-entries').getByTestId('chart-point').first()).toBeAttached();
  // Hover values: each point names its time, value and unit.
  await expect(page.getByTestId('chart-hit-rate').locator('circle title').first()).toHaveText(/: 100 %$/);
  // The parts sum to the score the badge shows.
  const points = await page.getByTestId('part-points').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-points'))));
  expect(points).toHaveLength(4);
  const score = Number(await page.getByTestId('source-head').getByTestId('health-badge').locator('.score').textContent());
  expect(points.reduce((a, b) => a + b, 0)).toBe(score);
  await expect(page.getByTestId('breakdown-total')).toHaveText(`${score} / 100`);
  // The table toggle is the charts' text alternative.
  const qpm = page.getByTestId('chart-qpm');
  await expect(qpm.getByTestId('chart-table')).toBeHidden();
  await qpm.getByTestId('chart-table-toggle').click();
  await expect(qpm.getByTestId('chart-table-toggle')).toHaveAttribute('aria-pressed', 'true');
  await expect(qpm.getByTestId('chart-table')).toBeVisible();
  await expect(qpm.getByTestId('chart-table').locator('tbody tr')).toHaveCount(60);
  await expect(qpm.getByTestId('chart-point').first()).toBeHidden();
  await qpm.getByTestId('chart-table-toggle').click();
  await expect(qpm.getByTestId('chart-table')).toBeHidden();
  await expect(qpm.getByTestId('chart-point').first()).toBeVisible();
  await qpm.getByTestId('chart-table-toggle').click();
  await page.getByTestId('range-24h').click();
  await expect(page.getByTestId('chart-qpm').locator('figcaption')).toBeVisible();
  for (const width of [1280, 900]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: `output/screenshots/source-page-${width}.png`, fullPage: true });
    await noSideScroll(page);
  }
});

test('after a slice invalidation entries and measures drop; after a whole one "last warmed" is kept', async ({ page, request }) => {
  await hydrated(page, '/sources/3');
  const entries = async () => Number((await page.getByTestId('detail-entries').textContent())!.replace(/,/g, ''));
  const measures = async () => Number(await page.getByTestId('cov-measures').textContent());
  const [e0, m0] = [await entries(), await measures()];
  expect(e0).toBeGreaterThan(0);
  await page.getByTestId('detail-invalidate').click();
  await page.getByTestId('inv-measure').fill('Chair Hours');
  await page.getByTestId('inv-preview').click();
  await expect(page.getByTestId('inv-result')).toContainText('Would delete');
  await page.getByTestId('inv-confirm').click();
  await page.getByTestId('confirm-reason').fill('e2e slice on the source page');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Invalidated slice measure Chair Hours' })).toBeVisible();
  await expect.poll(measures).toBe(m0 - 1);
  expect(await entries()).toBeLessThan(e0);

  // The whole source: cold, but it still says when it was last warmed.
  const r = await request.post(`${api}/invalidate`, { headers: bearer(), data: { datasourceId: 3, reason: 'e2e whole' } });
  expect(r.status()).toBe(200);
  await hydrated(page, '/');
  const last = page.getByTestId('source-3').getByTestId('last-warmed');
  await expect(last).toContainText('last warmed');
  await expect(last).not.toHaveText('never');
  await page.screenshot({ path: 'output/screenshots/cache-after-invalidation.png', fullPage: true });
});

test('the health report lists a cold source with its recommendation, and warming it from the report clears the issue', async ({ page }) => {
  // Source 1 made cold (its metadata gone) in this suite's own prefix.
  redis('DEL', `${prefix}cache:meta:{ds:1}:last_warm`);
  await hydrated(page, '/');
  const issue = page.getByTestId('health-issue-1').filter({ hasText: 'queries go to the database' });
  await expect(issue).toBeVisible();
  await expect(issue.getByTestId('issue-recommendation')).toHaveText('Warm this source.');
  await expect(issue.getByTestId('issue-source')).toHaveAttribute('href', /\/sources\/1$/);
  for (const width of [1280, 900]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: `output/screenshots/health-report-${width}.png`, fullPage: true });
  }
  await issue.getByTestId('issue-warm').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'warming App Measures' })).toBeVisible();
  await expect(page.getByTestId('health-issue-1').filter({ hasText: 'queries go to the database' })).toHaveCount(0, { timeout: 180_000 });
});

test('no page logs a console error or fails a request, the favicon included', async ({ page }) => {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  for (const path of ['/', '/warming', '/warming/sources', '/warming/history', '/warming/schedules', '/warming/settings',
    '/redis', '/redis/keys', '/audit', '/sources/1', '/sources/3']) {
    await hydrated(page, path);
    await page.waitForLoadState('networkidle');
  }
  expect(problems).toEqual([]);
  const icon = await page.request.get('/favicon.ico');
  expect(icon.status()).toBe(200);
});
