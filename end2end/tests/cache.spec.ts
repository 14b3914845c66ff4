// The Analytics Cache and Warming tabs on the embedded demo sources: warm from the console,
// watch the job, and see the source become warm with real numbers.
import { test, expect } from './fixtures';
import { redis } from './redis';

test.setTimeout(180_000);

test('a warm started from the Warming tab runs live and fills the dashboard', async ({ page }) => {
  await page.goto('/warming');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByTestId('warm-source-select').selectOption('3');
  await page.getByTestId('warm-start').click();
  await expect(page.getByTestId('toast').first()).toContainText('warming');
  // Live, then done: the Jobs page names the last finished job, and the history records it as
  // completed.
  const last = page.getByTestId('last-finished');
  await expect(last).toContainText('Infusion Operations', { timeout: 150_000 });
  await expect(last.getByTestId('job-status')).toHaveText('completed');
  await page.screenshot({ path: 'output/screenshots/warming-done.png', fullPage: true });
  await page.getByTestId('warming-history').click();
  const done = page.getByTestId('recent-job').filter({ hasText: 'Infusion Operations' }).first();
  await expect(done).toContainText('completed');
  // How long the new data's atomic switch held Redis, as the job recorded it.
  await expect(done.getByTestId('job-cutover')).toHaveText(/^cutover \d+\.\d ms$/);
  await page.screenshot({ path: 'output/screenshots/warming-history.png', fullPage: true });

  await page.getByTestId('tab-cache').click();
  await expect(page).toHaveURL(/\/$/);
  const row = page.getByTestId('source-3');
  await expect(row.getByTestId('entries')).not.toHaveText('0');
  await expect(row.getByTestId('health-badge')).toContainText('excellent');
  await page.screenshot({ path: 'output/screenshots/cache-warm.png', fullPage: true });

  // Invalidate a slice: preview first, nothing changes until confirmed with a reason.
  await row.getByTestId('invalidate-source').click();
  await page.getByTestId('inv-measure').fill('No Shows');
  await page.getByTestId('inv-preview').click();
  await expect(page.getByTestId('inv-result')).toContainText('Would delete');
  await page.getByTestId('inv-confirm').click();
  await page.getByTestId('confirm-reason').fill('e2e slice');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Invalidated slice measure No Shows' })).toBeVisible();
});

test('a preview refused while a warm holds the source says why in the panel until the scope changes', async ({ page }) => {
  // The source's warm lock, held as another instance's job would hold it (only this suite's
  // prefix; released below only if it is still this test's).
  const lock = `${process.env.HEARTH_E2E_PREFIX!}lock:cache:warm:{ds:2}`;
  const holder = `job:e2e-held@e2e-${Date.now()}`;
  redis('SET', lock, holder, 'NX', 'PX', '60000');
  try {
    await page.goto('/');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await page.getByTestId('source-2').getByTestId('invalidate-source').click();
    await page.getByTestId('inv-preview').click();
    const refused = page.getByTestId('inv-refused');
    await expect(refused).toContainText('is being warmed or invalidated by');
    await expect(page.getByTestId('inv-result')).toHaveCount(0);
    // In the panel, not in a toast that goes away.
    await expect(page.getByTestId('toast')).toHaveCount(0);
    await page.screenshot({ path: 'output/screenshots/invalidate-refused.png', fullPage: true });
    await page.getByTestId('inv-measure').fill('Charges');
    await expect(refused).toBeEmpty();
  } finally {
    redis('EVAL', "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", '1', lock, holder);
  }
  // A field the server refuses is named in the panel too.
  await page.getByTestId('inv-measure').fill('x'.repeat(201));
  await page.getByTestId('inv-preview').click();
  await expect(page.getByTestId('inv-refused')).toContainText('measure is longer than 200 characters');
  await page.getByTestId('inv-measure').fill('');
  await expect(page.getByTestId('inv-refused')).toBeEmpty();
  await page.getByTestId('inv-preview').click();
  await expect(page.getByTestId('inv-result')).toContainText('Would delete');
  await expect(page.getByTestId('inv-refused')).toBeEmpty();
});
