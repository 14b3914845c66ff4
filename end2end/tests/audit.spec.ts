// The Audit tab: a warm started from the Warming tab with a reason is listed with that reason,
// filters narrow the list and live in the URL (so a filtered view reloads as it was), "More"
// continues where the first page ended, and the export downloads the filtered trail.
import { test, expect } from './fixtures';
import { accessToken, bearer } from './auth';
import { redis } from './redis';
import * as fs from 'node:fs';
import { basePathPort } from '../playwright.config';

test.setTimeout(120_000);

const shots = 'output/screenshots';
test.beforeAll(() => fs.mkdirSync(shots, { recursive: true }));

const csvHeader = 'id,at,userId,userName,action,target,sourceId,reason,outcome,status,detail,counts,requestId,client';

test('a warm started with a reason is listed, filtered, linked and exported', async ({ page }) => {
  const reason = `e2e audit ${Date.now()}`;
  await page.goto('/warming');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  // Source 1: cache.spec.ts warms source 3 and expects its own warm to start.
  await page.getByTestId('warm-source-select').selectOption('1');
  await page.getByTestId('warm-reason').fill(reason);
  await page.getByTestId('warm-start').click();
  await expect(page.getByTestId('toast').first()).toBeVisible();

  await page.getByTestId('tab-audit').click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByTestId('tab-audit')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('audit-page')).toBeVisible();
  const ours = page.getByTestId('audit-row').filter({ hasText: reason });
  // The entry reaches Redis a few milliseconds after the warm answered: refresh until it is in.
  await expect(async () => {
    await page.getByTestId('audit-refresh').click();
    await expect(ours).toHaveCount(1, { timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await expect(ours).toHaveAttribute('data-action', 'cache_warm_initiated');
  await expect(ours.getByTestId('audit-reason')).toHaveText(reason);
  await expect(ours).toContainText('source 1');
  await expect(ours).toContainText('Ada Admin');
  await expect(page.getByTestId('audit-stored')).toContainText('the trail holds');
  // The hand-off that signed this test in is listed too: the unfiltered trail is more than warms.
  const others = page.locator('[data-testid="audit-row"]:not([data-action="cache_warm_initiated"])');
  await expect(others.first()).toBeVisible();
  await page.screenshot({ path: `${shots}/audit.png`, fullPage: true });

  // Filter by action: applied on submit, written to the URL, every row that action.
  await page.getByTestId('audit-filter-action').selectOption('cache_warm_initiated');
  await page.getByTestId('audit-apply').click();
  await expect(page).toHaveURL(/\/audit\?action=cache_warm_initiated$/);
  await expect(others).toHaveCount(0);
  await expect(ours).toHaveCount(1);

  // Enter in a text filter submits too; both filters are kept.
  await page.getByTestId('audit-filter-user').fill('ada');
  await page.getByTestId('audit-filter-user').press('Enter');
  await expect(page).toHaveURL(/\/audit\?user=ada&action=cache_warm_initiated$/);
  await expect(ours).toHaveCount(1);

  // The filtered view is a link: reloaded, it shows the same filters and rows.
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('audit-filter-action')).toHaveValue('cache_warm_initiated');
  await expect(page.getByTestId('audit-filter-user')).toHaveValue('ada');
  await expect(ours).toHaveCount(1);
  await expect(others).toHaveCount(0);

  // The export carries the filters and downloads the entry with its reason.
  await expect(page.getByTestId('audit-export-ndjson')).toHaveAttribute('href', /format=ndjson&user=ada&action=cache_warm_initiated$/);
  const csv = page.getByTestId('audit-export-csv');
  await expect(csv).toHaveAttribute('href', /\/api\/admin\/analytics\/cache\/audit\/export\?format=csv&user=ada&action=cache_warm_initiated$/);
  const [download] = await Promise.all([page.waitForEvent('download'), csv.click()]);
  expect(download.suggestedFilename()).toMatch(/^hearth-audit-.*\.csv$/);
  const text = fs.readFileSync((await download.path())!, 'utf8');
  const lines = text.split('\r\n').filter((l) => l !== '');
  expect(lines[0]).toBe(csvHeader);
  const line = lines.find((l) => l.includes(reason));
  expect(line, 'the warm is in the export').toBeDefined();
  expect(line).toContain(',cache_warm_initiated,');
  expect(lines.slice(1).every((l) => l.includes(',cache_warm_initiated,'))).toBe(true);

  // Another action leaves the warm out.
  await page.getByTestId('audit-filter-action').selectOption('cache_invalidated');
  await page.getByTestId('audit-apply').click();
  await expect(page).toHaveURL(/action=cache_invalidated/);
  await expect(ours).toHaveCount(0);
  await expect(page.locator('[data-testid="audit-row"]:not([data-action="cache_invalidated"])')).toHaveCount(0);
});

test('More continues a long trail where the first page ended', async ({ page, request }) => {
  // The name the Redis tab knows (inside its `cache:` namespace) and the key under the prefix.
  const key = 'cache:audit-more';
  const stored = `${process.env.HEARTH_E2E_PREFIX!}${key}`;
  const inspections = 55;
  redis('SET', stored, 'inspect me');
  try {
    for (let i = 0; i < inspections; i++) {
      const r = await request.get(`/api/admin/redis/inspect?key=${encodeURIComponent(key)}`, { headers: bearer() });
      expect(r.ok(), await r.text()).toBe(true);
    }
  } finally {
    redis('DEL', stored);
  }
  // Each inspection is recorded in the background: wait until all are stored.
  const recorded = async () => {
    const r = await request.get('/api/admin/analytics/cache/audit?action=redis_key_inspected&limit=500', { headers: bearer() });
    const entries: { target: string }[] = (await r.json()).data.entries;
    return entries.filter((e) => e.target === `key ${key}`).length;
  };
  await expect.poll(recorded).toBeGreaterThanOrEqual(inspections);

  await page.goto('/audit?action=redis_key_inspected');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const rows = page.getByTestId('audit-row');
  // The first page is the API's default of 50, drawn by the server.
  await expect(rows).toHaveCount(50);
  await page.getByTestId('audit-more').click();
  await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(inspections);
  await expect(page.locator('[data-testid="audit-row"]:not([data-action="redis_key_inspected"])')).toHaveCount(0);
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
  expect(new Set(ids).size, 'no entry is listed twice').toBe(ids.length);

  // Refresh goes back to the first page.
  await page.getByTestId('audit-refresh').click();
  await expect(rows).toHaveCount(50);
});

test('the Audit view reads well 900 px wide: the table scrolls in its card, not the page', async ({ page }) => {
  await page.setViewportSize({ width: 900, height: 800 });
  await page.goto('/audit');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('audit-row').first()).toBeVisible();
  const box = await page.getByTestId('audit-page').boundingBox();
  expect(box!.x + box!.width, 'the view stays inside the viewport').toBeLessThanOrEqual(900);
  const wrap = page.getByTestId('audit-table').locator('xpath=..');
  const { scroll, client } = await wrap.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  expect(scroll, 'the table scrolls sideways inside its card').toBeGreaterThan(client);
  await page.screenshot({ path: `${shots}/audit-900.png`, fullPage: true });
});

test.describe('under HEARTH_BASE_PATH', () => {
  test.use({ signedIn: false });

  test('filters and exports stay below the base path', async ({ page, context }) => {
    const origin = `http://127.0.0.1:${basePathPort}`;
    await context.addCookies([{ name: 'access-token', value: accessToken(), url: origin, httpOnly: true, sameSite: 'Lax' }]);
    await page.goto(`${origin}/hearth/audit`);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await expect(page.getByTestId('tab-audit')).toHaveAttribute('href', '/hearth/audit');
    await page.getByTestId('audit-filter-outcome').selectOption('ok');
    await page.getByTestId('audit-apply').click();
    await expect(page).toHaveURL(`${origin}/hearth/audit?outcome=ok`);
    await expect(page.getByTestId('audit-filter-outcome')).toHaveValue('ok');
    await expect(page.getByTestId('audit-empty').or(page.getByTestId('audit-row').first())).toBeVisible();
    await expect(page.locator('[data-testid="audit-row"]:not([data-outcome="ok"])')).toHaveCount(0);
    const csv = page.getByTestId('audit-export-csv');
    await expect(csv).toHaveAttribute('href', '/hearth/api/admin/analytics/cache/audit/export?format=csv&outcome=ok');
    const [download] = await Promise.all([page.waitForEvent('download'), csv.click()]);
    const text = fs.readFileSync((await download.path())!, 'utf8');
    expect(text.split('\r\n')[0]).toBe(csvHeader);
  });
});
