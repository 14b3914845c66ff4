// The Redis tab on a Redis Cluster of three primaries (started here, stopped after): the
// overview lists each primary beside the totals; browsing walks every node, page by page, with
// "More"; a key on any node opens in the inspector; a purge by pattern previews, then deletes the
// keys on every node.
import { test, expect } from './fixtures';
import { signIn } from './auth';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clusterPort, clusterRedisPorts } from '../playwright.config';

const origin = `http://127.0.0.1:${clusterPort}`;
const prefix = `${process.env.HEARTH_E2E_PREFIX!}cluster:`;
const dir = path.resolve('output/cluster-redis');
const nodes: ChildProcess[] = [];
const cli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args]).toString().trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.use({ signedIn: false, baseURL: origin });
test.setTimeout(120_000);

test.beforeAll(async () => {
  test.setTimeout(60_000);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const port of clusterRedisPorts) {
    const nodeDir = path.join(dir, String(port));
    fs.mkdirSync(nodeDir, { recursive: true });
    nodes.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', path.join(nodeDir, 'nodes.conf'), '--dir', nodeDir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' }));
  }
  for (const port of clusterRedisPorts) {
    for (let i = 0; i < 100; i++) {
      try { if (cli(port, 'ping') === 'PONG') break; } catch { /* not up yet */ }
      await sleep(100);
    }
  }
  execFileSync('redis-cli', ['--cluster', 'create', ...clusterRedisPorts.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  // Every node must know the whole topology before keys go in: one that does not yet answers
  // CLUSTERDOWN, and redis-cli reports that per command and goes on.
  const ready = () => clusterRedisPorts.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok'));
  for (let i = 0; i < 200 && !ready(); i++) await sleep(100);
  // 90 keys without a hash tag: spread over the three primaries, as an application's keys are.
  // Written again (SET is idempotent) until all are in, should a node still have refused some.
  const commands = Array.from({ length: 90 }, (_, i) => `SET ${prefix}cache:spread:${i} v${i}`).join('\n');
  const stored = () => clusterRedisPorts.reduce((sum, p) => sum + Number(cli(p, 'dbsize')), 0);
  for (let i = 0; i < 50 && stored() < 90; i++) {
    execFileSync('redis-cli', ['-c', '-p', String(clusterRedisPorts[0])], { input: `${commands}\n` });
    if (stored() < 90) await sleep(200);
  }
});

test.afterAll(async () => {
  await Promise.all(nodes.map((n) => new Promise((r) => { n.once('exit', r); n.kill('SIGKILL'); })));
});

test('the Redis tab works on a cluster: per-node overview, browse across nodes, inspect, purge', async ({ page }) => {
  const perNode = clusterRedisPorts.map((p) => Number(cli(p, 'dbsize')));
  expect(perNode.every((n) => n > 10), `keys on every node: ${perNode}`).toBe(true);
  await signIn(page, origin);
  await page.goto(`${origin}/redis`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

  const nodesTable = page.getByTestId('overview-nodes');
  await expect(nodesTable.locator('tbody tr')).toHaveCount(3);
  for (const port of clusterRedisPorts) await expect(nodesTable).toContainText(`127.0.0.1:${port}`);
  await expect(page.getByTestId('overview-version')).toContainText('cluster');
  await page.getByTestId('redis-page-keys').click();
  await expect(page.getByTestId('key-list')).toBeVisible();

  // Pages of 50 at most: the 90 keys need "More", and the pages come from every node. The
  // pattern is debounced: first a pattern matching nothing, so the list is known to be the new
  // pattern's before "More" is clicked.
  const rows = page.getByTestId('key-row');
  await page.getByTestId('browse-pattern').fill('cache:nothing:*');
  await expect(rows).toHaveCount(0);
  await page.getByTestId('browse-pattern').fill('cache:spread:*');
  await expect(rows.first()).toBeVisible();
  const more = page.getByTestId('browse-more');
  for (let i = 0; i < 100 && (await rows.count()) < 90 && (await more.isVisible()); i++) {
    const before = await rows.count();
    await more.click();
    await expect.poll(async () => (await rows.count()) > before || !(await more.isVisible())).toBe(true);
  }
  await expect(rows).toHaveCount(90);
  await expect(more).toBeHidden();
  await page.screenshot({ path: 'output/screenshots/redis-cluster.png', fullPage: true });

  await page.locator('[data-testid="key-row"][data-key="cache:spread:42"]').click();
  await expect(page.getByTestId('key-detail')).toHaveAttribute('data-type', 'string');
  await expect(page.getByTestId('inspector-value')).toContainText('v42');

  // Purge by pattern: a preview counts all 90, then the purge (with a reason) removes them all.
  await page.getByTestId('purge-pattern').fill('cache:spread:*');
  await page.getByTestId('purge-preview').click();
  await expect(page.getByTestId('purge-matched')).toHaveText('90');
  expect(clusterRedisPorts.map((p) => Number(cli(p, 'dbsize'))).reduce((a, b) => a + b)).toBeGreaterThanOrEqual(90);
  await page.getByTestId('purge-start').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await page.getByTestId('confirm-reason').fill('e2e: clear the spread keys');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('purge-summary')).toContainText('Done: 90 keys deleted');
  for (const port of clusterRedisPorts) {
    expect(cli(port, '--scan', '--pattern', `${prefix}cache:spread:*`)).toBe('');
  }
});
