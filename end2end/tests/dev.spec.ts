// Development mode beside the signed-in suite: it serves, hydrates and says so on screen, and a
// page on another site still cannot change anything through it.
import { test, expect } from './fixtures';
import { forgeKeyDelete } from './auth';
import { redis } from './redis';
import { devPort } from '../playwright.config';

test.use({ signedIn: false });

const prefix = `${process.env.HEARTH_E2E_PREFIX!}dev:`;
const dev = `http://127.0.0.1:${devPort}`;

test('development mode serves, hydrates and says so on screen', async ({ page }) => {
  await page.goto(`${dev}/`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('dev-banner')).toContainText('Development mode, no login');
  await expect(page.getByTestId('connection-status')).toHaveText(/Redis connected/);
  await expect(page.getByTestId('sign-out')).toHaveCount(0);
  await page.getByTestId('tab-redis').click();
  await expect(page.getByTestId('overview-version')).not.toBeEmpty();
});

test('a page on another site cannot use development mode to change a key', async ({ page }) => {
  const victim = `${prefix}cache:e2e-victim`;
  redis('SET', victim, 'keep me');
  try {
    expect(await forgeKeyDelete(page, dev, 'forge-dev')).toBe(403);
    await expect(page.locator('body')).toContainText('cross-origin request refused');
    expect(redis('GET', victim)).toBe('keep me');
  } finally {
    redis('DEL', victim);
  }
});
