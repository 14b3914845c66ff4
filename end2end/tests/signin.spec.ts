// Signing in and out of the jwt-mode Hearth in a real browser: no session shows where to sign in,
// Sign out ends the session, the sessions panel lists it, and a page on another site that posts a
// form to a server function changes nothing.
import { test, expect } from './fixtures';
import { autoPost, publish } from './auth';
import { execFileSync } from 'node:child_process';
import { sitePort } from '../playwright.config';

const prefix = process.env.HEARTH_E2E_PREFIX!;
const url = process.env.HEARTH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = (...args: string[]) => execFileSync('redis-cli', ['-u', url, ...args]).toString().trim();

test.describe('without a session', () => {
  test.use({ signedIn: false });

  test('a page explains how to sign in instead of a raw 401', async ({ page }) => {
    const response = await page.goto('/warming');
    expect(response!.status()).toBe(401);
    await expect(page.getByTestId('signed-out')).toContainText('Sign in through the command center');
    await expect(page.getByRole('link', { name: 'Open the command center' })).toHaveAttribute('href', `http://localhost:${sitePort}/`);
  });
});

test('sign out ends the session and the console shows it ended', async ({ page }) => {
  await page.goto('/warming');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const panel = page.getByTestId('sessions-panel');
  await expect(panel.getByTestId('session-row').filter({ hasText: 'you' }).first()).toBeVisible();
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/auth\/signed-out$/);
  await expect(page.getByTestId('signed-out')).toContainText('Your session has ended');
  const again = await page.goto('/');
  expect(again!.status()).toBe(401);
  await expect(page.getByTestId('signed-out')).toBeVisible();
});

test('a form posted from another site to a server function changes nothing', async ({ page, baseURL }) => {
  const victim = `${prefix}victim`;
  redis('SET', victim, 'keep me');
  publish('forge-main', autoPost(`${baseURL}/rpc/redis/key/delete`, { key: 'victim' }));
  try {
    // Signed in (the fixture did it), the admin visits a page on another site.
    const response = page.waitForResponse((r) => r.url().endsWith('/rpc/redis/key/delete'));
    await page.goto(`http://localhost:${sitePort}/forge-main`);
    expect([401, 403]).toContain((await response).status());
    expect(redis('GET', victim)).toBe('keep me');
  } finally {
    redis('DEL', victim);
  }
});
