// Browser tests of Hearth in Debian's Chromium. Playwright starts the built server with its own
// port and key prefix; nothing is downloaded (no `playwright install`).
import { defineConfig } from '@playwright/test';

const port = Number(process.env.HEARTH_E2E_PORT ?? 3107);
// A second Hearth whose Redis the outage test stops and starts (see tests/outage.spec.ts).
export const outagePort = port + 1;
// Development mode (no login), for its smoke test beside the signed-in suite.
export const devPort = port + 2;
// Signed in by hand-off inside a cross-site iframe (HEARTH_EMBED=on).
export const embedPort = port + 3;
// The "command center": pages served from localhost (another site than 127.0.0.1). The first
// port is allowed to frame Hearth, the second is not.
export const sitePort = port + 4;
export const foreignSitePort = port + 5;
// Under HEARTH_BASE_PATH=/hearth, signed in by the command center's own cookie.
export const basePathPort = port + 6;
// Signed in, on a Redis Cluster the cluster test starts (tests/cluster.spec.ts).
export const clusterPort = port + 7;
export const clusterRedisPorts = [0, 1, 2].map((i) => Number(process.env.HEARTH_E2E_CLUSTER_REDIS_PORT ?? 16_481) + i);
export const jwt = {
  secret: 'e2e-secret-0123456789abcdef0123456789',
  issuer: 'command-center',
  audience: 'hearth',
};
// The release build by default: it is what `make run` serves (see .ci/test).
const bin = process.env.HEARTH_E2E_BIN ?? 'target/release/hearth';
export const outageRedisPort = Number(process.env.HEARTH_E2E_OUTAGE_REDIS_PORT ?? 16_479);
export const prefix = process.env.HEARTH_E2E_PREFIX ?? `e2e:${process.pid}:`;
process.env.HEARTH_E2E_PREFIX = prefix;

const jwtMode = {
  HEARTH_AUTH_MODE: 'jwt',
  HEARTH_JWT_SECRET: jwt.secret,
  HEARTH_JWT_ISSUER: jwt.issuer,
  HEARTH_JWT_AUDIENCE: jwt.audience,
};

/** One Hearth of the suite on `port` (probed under its base path), with `env` over the defaults. */
function hearth(port: number, keyPrefix: string, env: Record<string, string>) {
  const base = env.HEARTH_BASE_PATH ?? '';
  return {
    command: `${bin} serve`,
    cwd: '..',
    url: `http://127.0.0.1:${port}${base}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    env: {
      HEARTH_BIND: `127.0.0.1:${port}`,
      HEARTH_KEY_PREFIX: keyPrefix,
      HEARTH_REDIS_URL: process.env.HEARTH_REDIS_URL ?? 'redis://127.0.0.1:6379',
      HEARTH_DATA_DIR: 'target/e2e-data',
      HEARTH_LOG: 'warn',
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  outputDir: './output/test-results',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  globalSetup: './site.ts',
  globalTeardown: './teardown.ts',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-quic',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: [
    // The suite's Hearth: `jwt` mode, as in production; each test signs in by hand-off.
    { ...hearth(port, prefix, {
      ...jwtMode,
      HEARTH_LOGIN_URL: `http://localhost:${sitePort}/`,
      HEARTH_TRUSTED_ORIGINS: `http://localhost:${sitePort}`,
    }), stdout: 'pipe', stderr: 'pipe' },
    hearth(devPort, `${prefix}dev:`, {}),
    hearth(basePathPort, `${prefix}base:`, { ...jwtMode, HEARTH_JWT_COOKIE: 'access-token', HEARTH_BASE_PATH: '/hearth' }),
    hearth(embedPort, `${prefix}embed:`, { ...jwtMode, HEARTH_EMBED: 'on', HEARTH_FRAME_ANCESTORS: `http://localhost:${sitePort}` }),
    // Hearth connects lazily: this one starts before its cluster, which tests/cluster.spec.ts
    // starts and stops.
    hearth(clusterPort, `${prefix}cluster:`, {
      ...jwtMode,
      HEARTH_LOGIN_URL: `http://localhost:${sitePort}/`,
      HEARTH_TRUSTED_ORIGINS: `http://localhost:${sitePort}`,
      HEARTH_REDIS_CLUSTER: 'true',
      HEARTH_REDIS_URL: clusterRedisPorts.map((p) => `redis://127.0.0.1:${p}`).join(','),
      HEARTH_LOG: 'error',
    }),
    hearth(outagePort, prefix, {
      HEARTH_REDIS_URL: `redis://127.0.0.1:${outageRedisPort}`,
      HEARTH_REDIS_TIMEOUT_MS: '500',
      HEARTH_LOG: 'error',
    }),
  ],
});
