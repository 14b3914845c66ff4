// Hearth under HEARTH_BASE_PATH=/hearth, behind the command center's host, signed in by the
// command center's own `access-token` cookie: pages hydrate, server functions answer under the
// prefix, tabs link within it, and a write goes through.
import { test, expect } from './fixtures';
import { accessToken } from './auth';
import { basePathPort } from '../playwright.config';

test.use({ signedIn: false });
test.setTimeout(120_000);

const origin = `http://127.0.0.1:${basePathPort}`;

test('the console works under /hearth with the command center cookie', async ({ page, context }) => {
  await context.addCookies([{ name: 'access-token', value: accessToken(), url: origin, httpOnly: true, sameSite: 'Lax' }]);
  await page.goto(`${origin}/hearth/redis`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('current-user')).toHaveText('Ada Admin');
  // Polled by a server function under /hearth/rpc.
  await expect(page.getByTestId('overview-version')).not.toBeEmpty();
  await page.getByTestId('overview-interval').selectOption('2000');
  const stats = page.getByTestId('overview-stats');
  const sampled = await stats.getAttribute('data-sampled-at');
  await expect(stats).not.toHaveAttribute('data-sampled-at', sampled!);

  await page.getByTestId('tab-warming').click();
  await expect(page).toHaveURL(`${origin}/hearth/warming`);
  await expect(page.getByTestId('warming-page')).toBeVisible();
  await page.getByTestId('warm-source-select').selectOption('3');
  await page.getByTestId('warm-start').click();
  await expect(page.getByTestId('toast').first()).toContainText('warming');
  // A tab's own pages link under the base path too.
  await page.getByTestId('warming-history').click();
  await expect(page).toHaveURL(`${origin}/hearth/warming/history`);
  await expect(page.getByTestId('recent-jobs')).toBeVisible();
  await expect(page.getByTestId('tab-warming')).toHaveAttribute('aria-selected', 'true');

  await page.getByTestId('tab-cache').click();
  await expect(page).toHaveURL(`${origin}/hearth`);
  await expect(page.getByTestId('cache-page')).toBeVisible();
});

test('no page of Hearth answers outside the base path', async ({ context }) => {
  await context.addCookies([{ name: 'access-token', value: accessToken(), url: origin, httpOnly: true, sameSite: 'Lax' }]);
  expect((await context.request.get(`${origin}/hearth/warming`)).status()).toBe(200);
  expect((await context.request.get(`${origin}/warming`)).status()).toBe(404);
  expect((await context.request.get(`${origin}/hearth/healthz`)).status()).toBe(200);
});

test('a server-function form posts under /hearth as a browser does before hydration', async ({ page, context }) => {
  await context.addCookies([{ name: 'access-token', value: accessToken(), url: origin, httpOnly: true, sameSite: 'Lax' }]);
  await page.goto(`${origin}/hearth`);
  const form = page.getByTestId('warm-source').first().locator('xpath=ancestor::form');
  await expect(form).toHaveAttribute('action', '/hearth/rpc/jobs/warm');
  const ds = Number(await form.locator('input[name="request[datasourceId]"]').getAttribute('value'));
  const jobsOf = async () => {
    const status = await (await context.request.get(`${origin}/hearth/api/admin/analytics/cache/warming/status`)).json();
    return [...status.data.activeJobs, ...status.data.recentJobs].filter((j: { datasourceId: number }) => j.datasourceId === ds).length;
  };
  const before = await jobsOf();
  // HTMLFormElement.submit() skips the submit handler: the plain POST a page sends before (or
  // without) hydration, answered with a redirect back to the page.
  await Promise.all([page.waitForURL(`${origin}/hearth`), form.evaluate((f: HTMLFormElement) => f.submit())]);
  await expect.poll(jobsOf).toBe(before + 1);
});
