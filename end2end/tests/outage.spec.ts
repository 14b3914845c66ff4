// Redis goes away while the page is open: the card and the header say so, then recover alone.
import { test, expect } from './fixtures';
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { outagePort, outageRedisPort } from '../playwright.config';

const dir = path.resolve('output/outage-redis');
let redis: ChildProcess | undefined;

async function startRedis() {
  fs.mkdirSync(dir, { recursive: true });
  redis = spawn('redis-server', ['--port', String(outageRedisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
}

async function stopRedis() {
  if (!redis) return;
  const exited = new Promise((r) => redis!.once('exit', r));
  redis.kill('SIGKILL');
  await exited;
  redis = undefined;
}

test.afterAll(stopRedis);

test('the overview reports Redis down and recovers by itself', async ({ page }) => {
  await startRedis();
  await page.goto(`http://127.0.0.1:${outagePort}/redis`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('overview-version')).not.toBeEmpty();
  await page.getByTestId('overview-interval').selectOption('2000');

  await stopRedis();
  await expect(page.getByTestId('error-box')).toContainText('Redis', { timeout: 20_000 });
  await expect(page.getByTestId('error-box')).toHaveAttribute('data-code', /RedisUnavailable|Timeout/);

  await startRedis();
  await expect(page.getByTestId('overview-version')).not.toBeEmpty({ timeout: 30_000 });
  await expect(page.getByTestId('error-box')).toHaveCount(0);
});
