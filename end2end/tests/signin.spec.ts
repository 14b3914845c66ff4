// Signing in and out of the jwt-mode Hearth in a real browser: no session shows where to sign in,
// Sign out ends the session, the sessions panel lists it, and a page on another site that posts a
// form to a server function changes nothing.
import { test, expect } from './fixtures';
import { forgeKeyDelete } from './auth';
import { redis } from './redis';
import { sitePort } from '../playwright.config';

const prefix = process.env.HEARTH_E2E_PREFIX!;

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
  await page.goto('/warming/settings');
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
  try {
    // Signed in (the fixture did it), the admin visits a page on another site.
    expect([401, 403]).toContain(await forgeKeyDelete(page, baseURL!, 'forge-main'));
    expect(redis('GET', victim)).toBe('keep me');
  } finally {
    redis('DEL', victim);
  }
});
