// Signing in the way the command center does it: a hand-off token minted with the shared secret
// and POSTed as a form, so the browser holds a real Hearth session; and a tiny "command center"
// site on localhost (another site than 127.0.0.1) for the embed and cross-origin tests.
import { createHmac, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { Page } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { jwt, sitePort } from '../playwright.config';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function sign(claims: object): string {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64(claims);
  const signature = createHmac('sha256', jwt.secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

const admin = { sub: 'ada', name: 'Ada Admin', permissions: ['settings:read:all', 'settings:write:all'] };
/** A second writer, for a test's setup calls, so they do not spend the admin's per-user rate limits. */
export const setupUser = { sub: 'e2e-setup', name: 'Test setup', permissions: ['settings:read:all', 'settings:write:all'] };

/** A single-use hand-off token, valid for a minute. */
export function handoffToken(who: object = admin): string {
  const now = Math.floor(Date.now() / 1000);
  return sign({ ...who, iss: jwt.issuer, aud: jwt.audience, iat: now, exp: now + 60, jti: randomUUID(), purpose: 'hearth-handoff' });
}

/** An access token, as the command center puts in its `access-token` cookie. */
export function accessToken(who: object = admin): string {
  const now = Math.floor(Date.now() / 1000);
  return sign({ ...who, iss: jwt.issuer, aud: jwt.audience, iat: now, exp: now + 900 });
}

/** Headers for `Authorization: Bearer`. */
export function bearer(who: object = admin): { authorization: string } {
  return { authorization: `Bearer ${accessToken(who)}` };
}

/**
 * Signs `page` in at `base` as an admin does: the command center's page (localhost, a site Hearth
 * trusts) shows a button that POSTs a fresh hand-off token to Hearth. Works with scripts off too.
 */
export async function signIn(page: Page, base: string) {
  await page.goto(`http://localhost:${sitePort}/signin?hearth=${encodeURIComponent(base)}`);
  await Promise.all([page.waitForURL(`${base}/`), page.click('#open-hearth')]);
}

const pagesDir = path.resolve(__dirname, '../output/site');

/** Publishes `html` at `/<name>` on the command center's site (both of its ports). */
export function publish(name: string, html: string) {
  fs.mkdirSync(pagesDir, { recursive: true });
  fs.writeFileSync(path.join(pagesDir, `${name}.html`), html);
}

/** The command center's site: `/signin` mints a token per visit, other pages are published files. */
export async function startSite(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://localhost:${port}`);
    let html: string | undefined;
    if (url.pathname === '/signin') {
      const hearth = url.searchParams.get('hearth') ?? '';
      html =
        `<!DOCTYPE html><title>Command center</title><form method="post" action="${hearth}/auth/handoff">` +
        `<input type="hidden" name="token" value="${handoffToken()}"><button id="open-hearth" type="submit">Open Hearth</button></form>`;
    } else {
      const file = path.join(pagesDir, `${path.basename(url.pathname)}.html`);
      if (fs.existsSync(file)) html = fs.readFileSync(file, 'utf8');
    }
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(port, 'localhost', resolve));
  return server;
}

/** A page that immediately POSTs `fields` to `action` (into `target` when given). */
export function autoPost(action: string, fields: Record<string, string>, target?: string): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`)
    .join('');
  const frame = target ? `<iframe name="${target}" title="${target}" style="width:900px;height:760px;border:1px solid #ccc"></iframe>` : '';
  return `<!DOCTYPE html><html><head><title>Command center</title></head><body><h1>Command center</h1>${frame}` +
    `<form id="f" method="post" action="${action}"${target ? ` target="${target}"` : ''}>${inputs}</form>` +
    `<script>document.getElementById('f').submit()</script></body></html>`;
}

/**
 * A page on the command center's site that POSTs `key=cache:e2e-victim` (a key the Redis tab
 * may delete, so only the origin check stands in the way) to `hearth`'s key-delete server
 * function (into the `target` frame when given), as a forged form would; the status Hearth answered.
 */
export async function forgeKeyDelete(page: Page, hearth: string, name: string, target?: string): Promise<number> {
  publish(name, autoPost(`${hearth}/rpc/redis/key/delete`, { key: 'cache:e2e-victim' }, target));
  const response = page.waitForResponse((r) => r.url().endsWith('/rpc/redis/key/delete'));
  await page.goto(`http://localhost:${sitePort}/${name}`);
  return (await response).status();
}
