// Hearth inside the command center's admin page, cross-site: the page (on localhost) posts a
// hand-off into an iframe of Hearth (on 127.0.0.1); the console appears in the embed layout and a
// warm started inside the frame runs. A page from an origin not in HEARTH_FRAME_ANCESTORS gets no
// console, and a form that page's site posts into the frame with the session cookie is refused.
import { test, expect } from './fixtures';
import { autoPost, forgeKeyDelete, handoffToken, publish } from './auth';
import { redis } from './redis';
import * as fs from 'node:fs';
import { embedPort, foreignSitePort, sitePort } from '../playwright.config';

test.use({ signedIn: false, viewport: { width: 960, height: 900 } });
test.setTimeout(180_000);

const hearth = `http://127.0.0.1:${embedPort}`;
const prefix = `${process.env.HEARTH_E2E_PREFIX!}embed:`;

const adminPage = () => autoPost(`${hearth}/auth/handoff`, { token: handoffToken(), embed: '1' }, 'hearth');

test.beforeAll(() => fs.mkdirSync('output/screenshots', { recursive: true }));

test('the console runs in the embed layout inside the command center and a warm started there runs', async ({ page }) => {
  publish('admin-embed', adminPage());
  await page.goto(`http://localhost:${sitePort}/admin-embed`);
  const frame = page.frameLocator('iframe[name="hearth"]');
  await expect(frame.getByTestId('shell')).toHaveAttribute('data-layout', 'embed');
  await expect(frame.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(frame.getByTestId('current-user')).toHaveText('Ada Admin');
  await page.screenshot({ path: 'output/screenshots/embed-cache.png' });

  await frame.getByTestId('tab-warming').click();
  await expect(frame.getByTestId('warming-page')).toBeVisible();
  await frame.getByTestId('warm-source-select').selectOption('3');
  await frame.getByTestId('warm-start').click();
  await expect(frame.getByTestId('toast').first()).toContainText('warming');
  await expect(frame.getByTestId('last-finished')).toContainText('Infusion Operations', { timeout: 150_000 });
  await expect(frame.getByTestId('last-finished').getByTestId('job-status')).toHaveText('completed');
  await page.screenshot({ path: 'output/screenshots/embed-warming.png' });

  // The session cookie reaches Hearth inside this page's frame, so only the origin check stands
  // between a form posted from this site and the server function: it must refuse.
  const victim = `${prefix}cache:e2e-victim`;
  redis('SET', victim, 'keep me');
  expect(await forgeKeyDelete(page, hearth, 'forge-embed', 'hearth')).toBe(403);
  await expect(page.frameLocator('iframe[name="hearth"]').locator('body')).toContainText('cross-origin request refused');
  expect(redis('GET', victim)).toBe('keep me');
  redis('DEL', victim);
});

test('a page from an origin Hearth does not allow gets no console', async ({ page }) => {
  // The same page, served from the command center's other port: another origin.
  publish('admin-foreign', adminPage());
  const refused = page.waitForEvent('console', (m) => /frame-ancestors/.test(m.text()));
  await page.goto(`http://localhost:${foreignSitePort}/admin-foreign`);
  await refused;
  await expect(page.frameLocator('iframe[name="hearth"]').getByTestId('shell')).toHaveCount(0);
});
