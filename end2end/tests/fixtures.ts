// Every browser test fails when its page throws or hydration reports an error: a page that looks
// right but died while hydrating is dead for its user (buttons do nothing, nothing refreshes).
// Tests run signed in to the suite's Hearth (jwt mode) through a hand-off, as an admin does,
// unless they set `test.use({ signedIn: false })`.
import { test as base, expect } from '@playwright/test';
import { signIn } from './auth';

const fatal = /hydrat|panicked|unreachable|RuntimeError/i;
// A script or style the CSP blocked is a broken page too; frame-ancestors refusals are the one
// kind a test provokes on purpose (a page not allowed to frame Hearth).
const blocked = /Content Security Policy/i;

export const test = base.extend<{ pageErrors: string[]; signedIn: boolean }>({
  signedIn: [true, { option: true }],
  pageErrors: [
    async ({ page, signedIn, baseURL }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
      page.on('console', (m) => {
        const text = m.text();
        const csp = blocked.test(text) && !text.includes('frame-ancestors');
        if ((m.type() === 'error' && fatal.test(text)) || csp) errors.push(`console: ${text.slice(0, 600)}`);
      });
      if (signedIn) await signIn(page, baseURL!);
      await use(errors);
      expect(errors, 'errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
