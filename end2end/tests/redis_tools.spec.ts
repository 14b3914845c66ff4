// The Redis tab: browse with a pattern, inspect a hash and a JSON string, change a TTL, change
// TTLs by pattern (preview, then confirm with a reason), preview then purge with a reason. Keys
// live under the browser tests' own prefix, in the cache's namespace (the tab's lane).
import { test, expect } from './fixtures';
import { redis } from './redis';

const prefix = process.env.HEARTH_E2E_PREFIX!;

test.beforeAll(() => {
  redis('SET', `${prefix}cache:demo:json`, JSON.stringify({ measure: 'Charges', rows: [1, 2, 3] }));
  redis('HSET', `${prefix}cache:demo:hash`, 'user', 'ada', 'role', 'admin');
  redis('RPUSH', `${prefix}cache:demo:list`, 'a', 'b');
  // Outside the tab's namespaces: never listed.
  redis('SET', `${prefix}demo:outside`, 'x');
  for (let i = 0; i < 20; i++) redis('SET', `${prefix}cache:purge:${i}`, 'x');
});

test('browse, inspect, change a TTL, preview and purge', async ({ page }) => {
  await page.goto('/redis/keys');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

  await page.getByTestId('browse-pattern').fill('cache:demo:*');
  const rows = page.getByTestId('key-row');
  // Each request examines a bounded number of keys; on a large keyspace the matches may need
  // a few "More" clicks, as they would for a user.
  await expect(page.locator('[data-testid="key-row"]:not([data-key^="cache:demo:"])')).toHaveCount(0);
  const more = page.getByRole('button', { name: 'More' });
  const examined = page.getByText(/ examined$/);
  for (let i = 0; i < 50 && (await rows.count()) < 3 && (await more.isVisible()); i++) {
    const before = await examined.innerText();
    await more.click();
    await expect(examined).not.toHaveText(before);
  }
  await expect(rows).toHaveCount(3);

  await page.locator('[data-testid="key-row"][data-key="cache:demo:hash"]').click();
  const detail = page.getByTestId('key-detail');
  await expect(detail).toHaveAttribute('data-type', 'hash');
  await expect(page.getByTestId('inspector-value')).toContainText('ada');

  // The picked row is marked, and only it.
  const hashRow = page.locator('[data-testid="key-row"][data-key="cache:demo:hash"]');
  await expect(hashRow).toHaveAttribute('aria-current', 'true');
  await expect(page.locator('ul.keys li.selected')).toHaveCount(1);

  // By keyboard: a row is a button; Enter picks it and it keeps the focus.
  const jsonRow = page.locator('[data-testid="key-row"][data-key="cache:demo:json"]');
  await jsonRow.focus();
  await page.keyboard.press('Enter');
  await expect(detail).toHaveAttribute('data-type', 'string');
  await expect(jsonRow).toBeFocused();
  await expect(jsonRow).toHaveAttribute('aria-current', 'true');
  await expect(hashRow).not.toHaveAttribute('aria-current', 'true');
  await expect(page.locator('ul.keys li.selected')).toHaveCount(1);
  await expect(detail.getByText('JSON', { exact: true })).toBeVisible();
  await expect(page.getByTestId('inspector-value')).toContainText('"measure": "Charges"');

  await page.getByTestId('ttl-input').fill('600');
  await page.getByTestId('ttl-set').click();
  await expect(page.getByTestId('inspector-ttl')).toHaveText(/^(10m 00s|9m 5\ds)$/);
  expect(Number(redis('TTL', `${prefix}cache:demo:json`))).toBeGreaterThan(590);
  await page.screenshot({ path: 'output/screenshots/redis-inspector.png', fullPage: true });

  // TTL by pattern: a preview changes nothing; applying asks for a reason.
  await page.getByTestId('ttlp-pattern').fill('cache:purge:*');
  await page.getByTestId('ttlp-ttl').fill('900');
  await page.getByTestId('ttlp-preview').click();
  await expect(page.getByTestId('ttlp-matched')).toHaveText('20');
  expect(Number(redis('TTL', `${prefix}cache:purge:3`))).toBe(-1);
  await page.getByTestId('ttlp-apply').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await expect(page.getByTestId('confirm-ok')).toBeDisabled();
  await page.getByTestId('confirm-reason').fill('expiring test keys');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'keys updated' })).toContainText('20 of 20 keys updated');
  expect(Number(redis('TTL', `${prefix}cache:purge:3`))).toBeGreaterThan(800);

  await page.getByTestId('purge-pattern').fill('cache:purge:*');
  await page.getByTestId('purge-preview').click();
  await expect(page.getByTestId('purge-matched')).toHaveText('20');
  expect(Number(redis('EXISTS', `${prefix}cache:purge:3`))).toBe(1);
  await page.getByTestId('purge-start').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await expect(page.getByTestId('confirm-ok')).toBeDisabled();
  await page.getByTestId('confirm-reason').fill('clearing test keys');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('purge-summary')).toContainText('Done: 20 keys deleted');
  expect(Number(redis('EXISTS', `${prefix}cache:purge:3`))).toBe(0);
  expect(Number(redis('EXISTS', `${prefix}cache:demo:hash`))).toBe(1);
  expect(Number(redis('EXISTS', `${prefix}demo:outside`))).toBe(1);

  // A pattern nothing matches: while SCAN has more pages the list says so, then that no key matches.
  await page.getByTestId('browse-pattern').fill('cache:none-such:*');
  const empty = page.getByTestId('browse-empty');
  await expect(empty).toBeVisible();
  for (let i = 0; i < 200 && (await more.isVisible()); i++) {
    await expect(empty).toHaveText('No match among the keys examined so far: More looks further.');
    const before = await examined.innerText();
    await more.click();
    await expect(examined).not.toHaveText(before);
  }
  await expect(more).toBeHidden();
  await expect(empty).toHaveText('No key matches.');
});
