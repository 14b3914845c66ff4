// The Warming tab as an admin uses it, page by page: edit a schedule's timing (a bad cron is refused inline
// and saves nothing; a good one is read back with its next runs, saved and listed), create one
// from the form, "Last run"
// after Run now, a warm paused by the memory guard (its reason, no Resume, resumes by itself), and
// focus given back to a job card's control after a refresh moved the card while its dialog was open,
// and focus kept on the job list when a job cancelled from the keyboard leaves it.
import type { APIRequestContext } from '@playwright/test';
import { test, expect } from './fixtures';
import { bearer, setupUser } from './auth';

test.setTimeout(180_000);

const api = '/api/admin/analytics/cache';

async function schedules(request: APIRequestContext) {
  const r = await request.get(`${api}/schedules`, { headers: bearer() });
  expect(r.ok()).toBeTruthy();
  return (await r.json()).data as Array<{ id: string; cron: string | null; everyHours: number | null; description: string; lastRunAt: string | null }>;
}

test('editing a schedule: a bad cron shows an inline error and saves nothing; a good one previews, saves and lists', async ({ page }) => {
  const created = await page.request.post(`${api}/schedules`, { headers: bearer(), data: { datasourceId: 1, everyHours: 17 } });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = (await created.json()).data.id as string;
  try {
    await page.goto('/warming/schedules');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    const row = page.getByTestId('schedule').filter({ hasText: 'Every 17 hours' });
    await expect(row.getByTestId('schedule-source-name')).toHaveText('App Measures');
    await row.getByTestId('schedule-edit').click();
    const form = page.locator('tr.schedule-editor').getByTestId('schedule-form');
    await expect(form).toBeVisible();
    await form.getByTestId('schedule-kind').selectOption('cron');

    // A bad cron: the field is marked and says why, before and after trying to save.
    await form.getByTestId('schedule-cron').fill('every tuesday');
    await expect(form.getByTestId('schedule-cron-error')).toContainText('not a cron expression');
    await expect(form.getByTestId('schedule-cron')).toHaveAttribute('aria-invalid', 'true');
    await form.getByTestId('schedule-save').click();
    await expect(form.getByTestId('schedule-cron-error')).toContainText('not a cron expression');
    expect((await schedules(page.request)).find((s) => s.id === id)?.everyHours, 'nothing was saved').toBe(17);
    await page.screenshot({ path: 'output/screenshots/warming-schedule-bad-cron.png', fullPage: true });

    // A good one: read back with its next three runs, then saved and listed with the new timing.
    await form.getByTestId('schedule-cron').fill('15 4 * * 2');
    await expect(form.getByTestId('schedule-next-run')).toHaveCount(3);
    await expect(form.getByTestId('schedule-cron')).toHaveAttribute('aria-invalid', 'false');
    await page.screenshot({ path: 'output/screenshots/warming-schedule-preview.png', fullPage: true });
    await form.getByTestId('schedule-save').click();
    await expect(page.getByTestId('toast').filter({ hasText: 'Schedule saved' }).first()).toBeVisible();
    const saved = (await schedules(page.request)).find((s) => s.id === id)!;
    expect(saved.cron).toBe('15 4 * * 2');
    expect(saved.everyHours).toBeNull();
    const edited = page.getByTestId('schedule').filter({ hasText: saved.description });
    await expect(edited.getByTestId('schedule-when')).toContainText(saved.description);
    await expect(page.locator('tr.schedule-editor')).toHaveCount(0);

    // Run now: "Last run" tells the truth afterwards.
    await expect(edited.getByTestId('schedule-last-run')).toContainText('never');
    await edited.getByRole('button', { name: 'Run now' }).click();
    await expect(page.getByTestId('schedule').filter({ hasText: saved.description }).getByTestId('schedule-last-run')).not.toContainText('never');
    expect((await schedules(page.request)).find((s) => s.id === id)?.lastRunAt).not.toBeNull();
  } finally {
    await page.request.delete(`${api}/schedules/${id}`, { headers: bearer(), data: {} });
  }
});

test('a new schedule from the form: previewed, saved, listed by source name', async ({ page }) => {
  await page.goto('/warming/schedules');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  // The card's own form (an edited row's form sits in a row of the table).
  const form = page.getByTestId('schedules').locator('.schedule-form:not(tr *)');
  await form.getByTestId('schedule-source').selectOption('3');
  await form.getByTestId('schedule-hours').fill('23');
  await expect(form.getByTestId('schedule-preview')).toContainText('Every 23 hours');
  await expect(form.getByTestId('schedule-next-run')).toHaveCount(3);
  await form.getByTestId('schedule-save').click();
  try {
    const row = page.getByTestId('schedule').filter({ hasText: 'Every 23 hours' });
    await expect(row.getByTestId('schedule-source-name')).toHaveText('Infusion Operations');
    const saved = (await schedules(page.request)).filter((s) => s.everyHours === 23);
    expect(saved.length, 'saved once').toBe(1);
  } finally {
    for (const s of (await schedules(page.request)).filter((s) => s.everyHours === 23)) {
      await page.request.delete(`${api}/schedules/${s.id}`, { headers: bearer(), data: {} });
    }
  }
});

test('an editor open on one schedule keeps what is typed while another row is disabled', async ({ page }) => {
  const ids: string[] = [];
  for (const everyHours of [13, 19]) {
    const created = await page.request.post(`${api}/schedules`, { headers: bearer(), data: { datasourceId: 1, everyHours } });
    expect(created.ok(), await created.text()).toBeTruthy();
    ids.push((await created.json()).data.id as string);
  }
  try {
    await page.goto('/warming/schedules');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    const editedRow = page.getByTestId('schedule').filter({ hasText: 'Every 13 hours' });
    await editedRow.getByTestId('schedule-edit').click();
    const form = page.locator('tr.schedule-editor').getByTestId('schedule-form');
    await form.getByTestId('schedule-kind').selectOption('cron');
    await form.getByTestId('schedule-cron').fill('30 2 * * 1');

    // Another row's action reloads the list: that row changes, the open editor stays as typed.
    const other = page.getByTestId('schedule').filter({ hasText: 'Every 19 hours' });
    await other.getByRole('button', { name: 'Disable' }).click();
    await expect(other.getByRole('button', { name: 'Enable' })).toBeVisible();
    await expect(form).toBeVisible();
    await expect(form.getByTestId('schedule-cron')).toHaveValue('30 2 * * 1');
    await expect(editedRow.getByTestId('schedule-edit')).toHaveAttribute('aria-expanded', 'true');
  } finally {
    for (const id of ids) await page.request.delete(`${api}/schedules/${id}`, { headers: bearer(), data: {} });
  }
});

test('a warm paused by the memory guard says why, offers no Resume, and resumes when the ceiling is lifted', async ({ page }) => {
  const settings = (body: object) => page.request.put(`${api}/warming/settings`, { headers: bearer(), data: body });
  // A 1 MiB ceiling: any Redis is over it, so the next warm waits for memory.
  expect((await settings({ memoryCeilingBytes: 1 << 20 })).ok()).toBeTruthy();
  try {
    const warm = await page.request.post(`${api}/warm`, { headers: bearer(), data: { datasourceId: 2, force: true } });
    expect(warm.ok(), await warm.text()).toBeTruthy();
    await page.goto('/warming');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    const job = page.getByTestId('job').filter({ hasText: 'Chart Data' });
    await expect(job.getByTestId('paused-reason')).toContainText('Waiting for Redis memory', { timeout: 60_000 });
    await expect(job.getByTestId('paused-resumes-when')).toContainText('resumes by itself');
    await expect(job.getByTestId('job-resume')).toHaveCount(0);
    await page.screenshot({ path: 'output/screenshots/warming-memory-guard.png', fullPage: true });

    // Lifting the ceiling lets it go on by itself, to the end.
    expect((await settings({ memoryCeilingBytes: 0 })).ok()).toBeTruthy();
    await expect(job.getByTestId('paused-reason')).toHaveCount(0, { timeout: 60_000 });
    await expect(page.getByTestId('last-finished')).toContainText('Chart Data', { timeout: 150_000 });
    await expect(page.getByTestId('last-finished').getByTestId('job-status')).toHaveText('completed');

    // The history lists it, and its per-source status row shows the cache and the time left
    // before it expires: each a page of the Warming tab, reached by its link.
    await page.getByTestId('last-finished').getByRole('link', { name: 'All finished jobs' }).click();
    await expect(page).toHaveURL(/\/warming\/history$/);
    await expect(page.getByTestId('warming-history').first()).toHaveAttribute('aria-current', 'page');
    await expect(page.getByTestId('recent-job').filter({ hasText: 'Chart Data' }).first()).toContainText('completed');
    await page.getByTestId('warming-sources').click();
    await expect(page).toHaveURL(/\/warming\/sources$/);
    const row = page.getByTestId('status-2');
    await expect(row.getByTestId('status-age')).not.toHaveText('not cached');
    await expect(row.getByTestId('status-ttl')).toHaveText(/^\d+(d \d+h|h \d{2}m)$/);
  } finally {
    await settings({ memoryCeilingBytes: 0 });
  }
});

test('a dialog opened from a job card gives focus back to that job\'s Cancel after a refresh moved the card', async ({ page }) => {
  const settings = (body: object) => page.request.put(`${api}/warming/settings`, { headers: bearer(), data: body });
  const warm = async (datasourceId: number) => {
    const r = await page.request.post(`${api}/warm`, { headers: bearer(setupUser), data: { datasourceId, force: true } });
    expect(r.ok(), await r.text()).toBeTruthy();
  };
  // Held by the memory guard, the jobs stay on the page, and the page polls every second.
  expect((await settings({ memoryCeilingBytes: 1 << 20 })).ok()).toBeTruthy();
  try {
    await warm(2);
    await page.goto('/warming');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    const first = page.getByTestId('job').filter({ hasText: 'Chart Data' });
    await expect(first.getByTestId('paused-reason')).toBeVisible({ timeout: 60_000 });
    const jobId = await first.getAttribute('data-job-id');
    expect(jobId).toBeTruthy();

    await first.getByTestId('job-cancel').focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('confirm-dialog');
    await expect(dialog).toBeVisible();
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('confirm-reason');
    await first.getByTestId('job-cancel').evaluate((el) => { (window as unknown as { opener: Element }).opener = el; });

    // Two more warms while the dialog is open: one takes the second slot, the third waits in the
    // queue, and queued jobs are listed first, so the list is redrawn with another job where the
    // opener's card was.
    await warm(1);
    await warm(3);
    const openerJob = () => page.evaluate(() => {
      const opener = (window as unknown as { opener: Element }).opener;
      return opener.isConnected ? opener.closest('[data-job-id]')?.getAttribute('data-job-id') ?? null : null;
    });
    await expect.poll(openerJob, { timeout: 15_000 }).not.toBe(jobId);

    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
    await expect(page.locator(`[data-testid="job"][data-job-id="${jobId}"]`).getByTestId('job-cancel')).toBeFocused();
  } finally {
    await settings({ memoryCeilingBytes: 0 });
    const status = await page.request.get(`${api}/warming/status`, { headers: bearer() });
    const active = ((await status.json()).data?.activeJobs ?? []) as Array<{ jobId: string }>;
    for (const { jobId } of active) {
      await page.request.post(`${api}/jobs/${jobId}/cancel`, { headers: bearer(), data: { reason: 'e2e cleanup' } });
    }
  }
});

test('a job cancelled from the keyboard leaves focus on the job list, not on another job\'s button or the page', async ({ page }) => {
  const settings = (body: object) => page.request.put(`${api}/warming/settings`, { headers: bearer(), data: body });
  const warm = async (datasourceId: number) => {
    const r = await page.request.post(`${api}/warm`, { headers: bearer(setupUser), data: { datasourceId, force: true } });
    expect(r.ok(), await r.text()).toBeTruthy();
  };
  const activeJobs = async () => {
    const r = await page.request.get(`${api}/warming/status`, { headers: bearer() });
    return ((await r.json()).data?.activeJobs ?? []) as Array<{ jobId: string }>;
  };
  // The jobs an earlier test cancelled stop at their next batch: wait until they have, so the
  // list holds this test's two cards only.
  await expect.poll(async () => (await activeJobs()).length, { timeout: 60_000 }).toBe(0);
  // Two warms held by the memory guard: two cards that stay until one is cancelled.
  expect((await settings({ memoryCeilingBytes: 1 << 20 })).ok()).toBeTruthy();
  try {
    await warm(2);
    await warm(1);
    await page.goto('/warming');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    const cards = page.getByTestId('job');
    await expect(cards).toHaveCount(2, { timeout: 30_000 });
    const first = cards.first();
    const cancelled = await first.getAttribute('data-job-id');
    const other = await cards.nth(1).getAttribute('data-job-id');
    expect(cancelled && other).toBeTruthy();

    // The first card's Cancel, confirmed from the keyboard. Once the job has ended the list is
    // drawn again by position: the first card is now the other job's, with its own Cancel.
    await first.getByTestId('job-cancel').focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('confirm-dialog');
    await expect(dialog).toBeVisible();
    // The dialog takes focus first (its reason field); the keyboard then moves on to confirm.
    await expect(dialog.getByTestId('confirm-reason')).toBeFocused();
    await dialog.getByTestId('confirm-ok').focus();
    await page.keyboard.press('Enter');
    await expect(dialog).toHaveCount(0);
    await expect(page.locator(`[data-job-id="${cancelled}"]`)).toHaveCount(0, { timeout: 30_000 });
    await expect(cards).toHaveCount(1);
    await expect(cards.first()).toHaveAttribute('data-job-id', other!);

    await expect(page.locator('#active-title')).toBeFocused();
    await expect(cards.first().getByTestId('job-cancel')).not.toBeFocused();
  } finally {
    await settings({ memoryCeilingBytes: 0 });
    for (const { jobId } of await activeJobs()) {
      await page.request.post(`${api}/jobs/${jobId}/cancel`, { headers: bearer(), data: { reason: 'e2e cleanup' } });
    }
  }
});

test('the Sources page follows a warm started elsewhere without a reload', async ({ page }) => {
  const cleared = await page.request.post(`${api}/invalidate`, { headers: bearer(), data: { datasourceId: 3, reason: 'e2e sources page' } });
  expect(cleared.ok(), await cleared.text()).toBeTruthy();
  await page.goto('/warming/sources');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const row = page.getByTestId('status-3');
  await expect(row.getByTestId('status-entries')).toHaveText('0');
  // Started by another admin, as "elsewhere" would be (and not spending this admin's warm limit).
  const warm = await page.request.post(`${api}/warm`, { headers: bearer(setupUser), data: { datasourceId: 3, force: true } });
  expect(warm.ok(), await warm.text()).toBeTruthy();
  await expect(row.getByTestId('status-entries')).not.toHaveText('0', { timeout: 60_000 });
  await expect(row.getByTestId('status-age')).not.toHaveText('not cached');
});
