// Development mode beside the signed-in suite: it serves, hydrates and says so on screen, and a
// page on another site still cannot change anything through it.
import { test, expect } from './fixtures';
import { autoPost, publish } from './auth';
import { execFileSync } from 'node:child_process';
import { devPort, sitePort } from '../playwright.config';

test.use({ signedIn: false });

const prefix = `${process.env.HEARTH_E2E_PREFIX!}dev:`;
const url = process.env.HEARTH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = (...args: string[]) => execFileSync('redis-cli', ['-u', url, ...args]).toString().trim();
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
  const victim = `${prefix}victim`;
  redis('SET', victim, 'keep me');
  publish('forge-dev', autoPost(`${dev}/rpc/redis/key/delete`, { key: 'victim' }));
  try {
    const response = page.waitForResponse((r) => r.url().endsWith('/rpc/redis/key/delete'));
    await page.goto(`http://localhost:${sitePort}/forge-dev`);
    expect((await response).status()).toBe(403);
    await expect(page.locator('body')).toContainText('cross-origin request refused');
    expect(redis('GET', victim)).toBe('keep me');
  } finally {
    redis('DEL', victim);
  }
});
