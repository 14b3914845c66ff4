// Every browser test fails when its page throws or hydration reports an error: a page that looks
// right but died while hydrating is dead for its user (buttons do nothing, nothing refreshes).
import { test as base, expect } from '@playwright/test';

const fatal = /hydrat|panicked|unreachable|RuntimeError/i;

export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && fatal.test(m.text())) errors.push(`console: ${m.text().slice(0, 600)}`);
      });
      await use(errors);
      expect(errors, 'errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
