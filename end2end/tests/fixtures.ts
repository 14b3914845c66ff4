// Every browser test fails when its page throws or hydration reports an error: a page that looks
// right but died while hydrating is dead for its user (buttons do nothing, nothing refreshes).
// Tests run signed in to the suite's Hearth (jwt mode) through a hand-off, as an admin does,
// unless they set `test.use({ signedIn: false })`.
import { test as base, expect } from '@playwright/test';
import { signIn } from './auth';

const fatal = /hydrat|panicked|unreachable|RuntimeError/i;

export const test = base.extend<{ pageErrors: string[]; signedIn: boolean }>({
  signedIn: [true, { option: true }],
  pageErrors: [
    async ({ page, signedIn, baseURL }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && fatal.test(m.text())) errors.push(`console: ${m.text().slice(0, 600)}`);
      });
      if (signedIn) await signIn(page, baseURL!);
      await use(errors);
      expect(errors, 'errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
