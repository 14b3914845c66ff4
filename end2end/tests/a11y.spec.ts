// Keyboard and narrow-screen use: the confirm dialog is modal for the keyboard (takes focus,
// keeps it, closes on Escape, gives it back), a source can be invalidated with the keyboard
// alone, and no page scrolls sideways at the 900 px the command center's iframe gives Hearth.
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { bearer, setupUser } from './auth';

test.setTimeout(180_000);

const focusedTestId = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName ?? '');

/** Presses Tab until the focused element has `testId` (at most `max` presses). */
async function tabTo(page: Page, testId: string, max = 120) {
  for (let i = 0; i < max; i++) {
    if ((await focusedTestId(page)) === testId) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${testId} (now on ${await focusedTestId(page)})`);
}

/** This file's setup warms, by a user of their own: per-user warm limits are per hour, and the
 *  admin's and warming.spec's setup user's are spent elsewhere in the run. */
const a11ySetup = { ...setupUser, sub: 'e2e-a11y-setup', name: 'Accessibility test setup' };

/** Warms demo source `ds` over REST and waits for the job to finish. */
async function warmed(page: Page, ds: number) {
  const r = await page.request.post('/api/admin/analytics/cache/warm', { headers: bearer(a11ySetup), data: { datasourceId: ds, force: true } });
  expect(r.ok(), await r.text()).toBeTruthy();
  await expect
    .poll(async () => {
      const s = await (await page.request.get('/api/admin/analytics/cache/warming/status', { headers: bearer() })).json();
      return s.data.activeJobs.some((j: { datasourceId: number }) => j.datasourceId === ds);
    }, { timeout: 150_000 })
    .toBe(false);
}

async function noSidewaysScroll(page: Page, what: string) {
  const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  expect(widths.doc, `${what}: page is ${widths.doc} px wide in a ${widths.view} px window`).toBeLessThanOrEqual(widths.view);
}

test('at 900 px no page scrolls sideways, cold or warm', async ({ page }) => {
  await page.setViewportSize({ width: 900, height: 900 });
  const pages = [['/', 'cache'], ['/warming', 'warming'], ['/warming/sources', 'warming-sources'],
    ['/warming/history', 'warming-history'], ['/warming/schedules', 'warming-schedules'],
    ['/warming/settings', 'warming-settings'], ['/redis', 'redis'], ['/redis/keys', 'redis-keys'], ['/audit', 'audit']];
  for (const [path, name] of pages) {
    await page.goto(path);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await noSidewaysScroll(page, `${path} (cold)`);
    await page.screenshot({ path: `output/screenshots/a11y-900-${name}-cold.png`, fullPage: true });
  }
  await warmed(page, 1);
  for (const [path, name] of [['/', 'cache'], ['/warming', 'warming'], ['/warming/sources', 'warming-sources'], ['/warming/history', 'warming-history']]) {
    await page.goto(path);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await noSidewaysScroll(page, `${path} (warm)`);
    await page.screenshot({ path: `output/screenshots/a11y-900-${name}-warm.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // The Redis tab's Analytics Cache section counts the warm source.
  await page.goto('/redis');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('redis-cache-sources')).not.toHaveText(/^0 of/);
  await expect(page.getByTestId('redis-cache-entries')).not.toHaveText('0');
  await page.screenshot({ path: 'output/screenshots/a11y-1280-redis-warm.png', fullPage: true });
  for (const [path, name] of [['/', 'cache'], ['/warming', 'warming']]) {
    await page.goto(path);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await page.screenshot({ path: `output/screenshots/a11y-1280-${name}-warm.png`, fullPage: true });
  }
});

test('keyboard only: from the tab bar to a source\'s Invalidate, through the dialog, Escape closes it', async ({ page }) => {
  await warmed(page, 1);
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('source-1').getByTestId('entries')).not.toHaveText('0');
  await page.getByTestId('tab-cache').focus();
  // Source 1 is the first row: the first Invalidate the Tab key meets is its.
  await tabTo(page, 'invalidate-source');
  await page.keyboard.press('Enter');
  await tabTo(page, 'inv-preview');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('inv-result')).toContainText('Would delete');
  await tabTo(page, 'inv-confirm');
  await page.keyboard.press('Enter');

  // The dialog takes focus (its reason field) and keeps it: Tab cycles inside.
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog).toBeVisible();
  await expect.poll(() => focusedTestId(page)).toBe('confirm-reason');
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    expect(await dialog.evaluate((d) => d.contains(document.activeElement)), `Tab ${i + 1} stays in the dialog`).toBe(true);
  }
  await page.keyboard.press('Shift+Tab');
  expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  // Escape closes it and focus goes back to the button that opened it.
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect.poll(() => focusedTestId(page)).toBe('inv-confirm');

  // Again, this time through: a reason, then Invalidate, all from the keyboard.
  await page.keyboard.press('Enter');
  await expect.poll(() => focusedTestId(page)).toBe('confirm-reason');
  await page.keyboard.type('keyboard-only e2e');
  await tabTo(page, 'confirm-ok', 4);
  await page.keyboard.press('Enter');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('toast').filter({ hasText: 'nvalidated' }).first()).toBeVisible();
});

test('an invalidation being typed outlives the dashboard\'s refresh: fields, focus and preview', async ({ page }) => {
  await warmed(page, 1);
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const asOf = page.getByTestId('cache-summary').getByText(/^as of /);
  const before = await asOf.textContent();
  await page.getByTestId('source-1').getByTestId('invalidate-source').click();
  // The panel opens with focus in its first field.
  await expect.poll(() => focusedTestId(page)).toBe('inv-measure');
  await page.keyboard.type('No Shows');
  await page.getByTestId('inv-preview').click();
  await expect(page.getByTestId('inv-result')).toContainText('Would delete');
  await page.getByTestId('inv-measure').focus();
  // The dashboard reloads its numbers every 15 s and redraws the table: wait for one.
  await expect(asOf).not.toHaveText(before ?? '', { timeout: 40_000 });
  await expect(page.getByTestId('inv-measure')).toHaveValue('No Shows');
  expect(await focusedTestId(page), 'focus stays in the field being typed in').toBe('inv-measure');
  await expect(page.getByTestId('inv-result')).toContainText('Would delete');
  // Changing the scope drops the preview that no longer describes it.
  await page.keyboard.type('!');
  await expect(page.getByTestId('inv-result')).toHaveCount(0);
  await page.getByTestId('inv-close').click();
  await expect(page.getByTestId('invalidate-panel')).toHaveCount(0);
});

test('Escape closes a dialog even when focus had left it, and focus returns to its opener', async ({ page }) => {
  await warmed(page, 1);
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const row = page.getByTestId('source-1');
  await row.getByTestId('invalidate-source').click();
  await page.getByTestId('inv-preview').click();
  const opener = page.getByTestId('inv-confirm');
  await opener.click();
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog).toBeVisible();
  await expect.poll(() => focusedTestId(page)).toBe('confirm-reason');
  // Focus pushed out behind the backdrop (as a script or the address bar might): Tab brings it back.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('Tab');
  expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(opener).toBeFocused();
});

test('a control focused the moment the dialog opens keeps focus: the dialog does not pull it back to its first field', async ({ page }) => {
  await warmed(page, 1);
  // The Warming tab's Sources page: its Invalidate opens the confirm dialog at once.
  await page.goto('/warming/sources');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const opener = page.getByTestId('status-1').getByTestId('status-invalidate');
  await expect(opener).toBeEnabled();
  // Open the dialog and focus its Cancel as soon as the dialog is in the page (a microtask
  // later, before the next frame, when the dialog focuses its first field), then let two frames pass.
  const focused = await page.evaluate(() => new Promise<string>((resolve) => {
    const observer = new MutationObserver(() => {
      const cancel = document.querySelector<HTMLElement>('[data-testid="confirm-dialog"] [data-testid="confirm-cancel"]');
      if (!cancel) return;
      observer.disconnect();
      cancel.focus();
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(document.activeElement?.getAttribute('data-testid') ?? '')));
    });
    observer.observe(document.body, { childList: true, subtree: true });
    const button = document.querySelector<HTMLElement>('[data-testid="status-1"] [data-testid="status-invalidate"]')!;
    button.focus();
    button.click();
  }));
  expect(focused).toBe('confirm-cancel');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0);
  await expect(opener).toBeFocused();
});

test('progress bars carry their values and health is written, not only coloured', async ({ page }) => {
  await page.goto('/redis');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  for (const bar of await page.getByRole('progressbar').all()) {
    await expect(bar).toHaveAttribute('aria-valuenow', /^\d+$/);
    await expect(bar).toHaveAttribute('aria-valuemin', '0');
    await expect(bar).toHaveAttribute('aria-valuemax', '100');
  }
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  for (const badge of await page.getByTestId('health-badge').all()) {
    await expect(badge).toHaveText(/excellent|good|degraded|stale|cold/);
  }
});
