// Global setup: the "command center" site on localhost, on the port Hearth trusts and on one it
// does not, for the whole run (sign-in pages, embedding pages, forged forms).
import { startSite } from './tests/auth';
import { foreignSitePort, sitePort } from './playwright.config';

export default async function globalSetup() {
  const servers = [await startSite(sitePort), await startSite(foreignSitePort)];
  return async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  };
}
