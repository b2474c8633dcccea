// End to end: the server-rendered Web Application of `cargo run --features web-app --example
// web_app` (the backend-for-frontend mode, `tower_okta::web_app`) in headless Chromium (Debian's,
// through puppeteer-core) against the embedded mock Okta: sign-in through the mock's authorize
// page, the session cookie's attributes and no token in the page, the API called with the cookie
// only, a silent refresh of the session's access token, cross-site POSTs refused, and sign-out at
// the app and at Okta.
//
//   node --test examples/spa/e2e/web_app.test.js   (examples/spa/e2e/run.sh installs what it needs)
//
// Environment: WEB_APP_EXAMPLE_BIN (a built `web_app` example binary; default `cargo run
// --features web-app --example web_app`), CHROMIUM (default /usr/bin/chromium).
//
// Every wait is for a DOM condition, a navigation or a process line, with a timeout; the one loop
// (the refresh) polls the API until the answer changes, within a deadline.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const crateRoot = path.resolve(here, '../../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// `cargo run` may have to build first.
const START_TIMEOUT_MS = process.env.WEB_APP_EXAMPLE_BIN ? 30_000 : 600_000;
const UI_TIMEOUT_MS = 15_000;
const COOKIE = '__Host-okta-session';
// The mock access-token lifetime of the refresh test: the layer refreshes a token that expires
// within 60 s, so this one is used for about 7 s, then refreshed.
const SHORT_LIFETIME_S = 67;
const REFRESH_DEADLINE_MS = 30_000;

/** Starts the example on a free port; resolves with its printed lines once it prints them. */
function startExample(extraEnv = {}) {
  const bin = process.env.WEB_APP_EXAMPLE_BIN;
  const [command, args] = bin
    ? [bin, []]
    : ['cargo', ['run', '--quiet', '--features', 'web-app', '--example', 'web_app']];
  const child = spawn(command, args, {
    cwd: crateRoot,
    env: {
      ...process.env,
      OKTA_ISSUER: '',
      BIND: '127.0.0.1:0',
      RUST_LOG: process.env.RUST_LOG || 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the example printed no URL within ${START_TIMEOUT_MS} ms\n${stderr}`));
    }, START_TIMEOUT_MS);
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const app = /^app:\s+(\S+)$/m.exec(stdout);
      const issuer = /^issuer:\s+(\S+)$/m.exec(stdout);
      const clientId = /^client id:\s+(\S+)$/m.exec(stdout);
      const cookie = /^cookie:\s+(\S+)$/m.exec(stdout);
      if (app && issuer && clientId && cookie && /^open /m.test(stdout)) {
        clearTimeout(timer);
        resolve({
          child,
          app: app[1].replace(/\/$/, ''),
          issuer: issuer[1],
          clientId: clientId[1],
          cookie: cookie[1],
          stdout,
          stderr: () => stderr,
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited (${code}) before printing its URL\n${stderr}`));
    });
  });
}

function stopExample(example) {
  if (example && example.child.exitCode === null) {
    example.child.kill('SIGTERM');
  }
}

/** A fresh browser context (its own cookies and storage) and page, recording every request. */
async function newPage(browser) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
  const log = { requests: [], consoleErrors: [] };
  page.on('request', (request) => {
    log.requests.push({
      url: request.url(),
      method: request.method(),
      headers: request.headers(),
      navigation: request.isNavigationRequest(),
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') log.consoleErrors.push(message.text());
  });
  return { context, page, log };
}

/** The session cookie of the context, if any. */
async function sessionCookie(context, example) {
  const cookies = await context.cookies();
  return cookies.find((cookie) => cookie.name === example.cookie);
}

/**
 * Opens the app signed out, clicks "Sign in" and waits for the signed-in page (the mock approves
 * without asking and redirects back to /callback, which redirects to /).
 */
async function signIn(page, example) {
  await page.goto(`${example.app}/`);
  await page.waitForSelector('body[data-state="signed-out"]');
  await page.click('#signin');
  // The signed-in page, or anything that is not one of the app's pages (a failed callback is a
  // plain-text error page).
  await page.waitForFunction(
    (app) => location.origin === app && document.readyState !== 'loading' && document.body
      && (document.body.dataset.state === 'signed-in' || location.pathname === '/callback'),
    {},
    example.app,
  );
  const { state, text } = await page.evaluate(() => ({
    state: document.body.dataset.state,
    text: document.body.innerText,
  }));
  assert.equal(state, 'signed-in', `sign-in failed: ${text}\n${example.stderr()}`);
}

/** Clicks "Call the API" and waits for that call's answer (the page counts its calls). */
async function callApi(page) {
  const before = await page.$eval('#api', (api) => Number(api.dataset.calls));
  await page.click('#call-api');
  await page.waitForFunction(
    (n) => Number(document.querySelector('#api').dataset.calls) > n,
    {},
    before,
  );
  return page.evaluate(() => ({
    state: document.querySelector('#api').dataset.state,
    status: Number(document.querySelector('#api-status').dataset.status),
    body: document.querySelector('#api-body').textContent,
  }));
}

/** `callApi`, asserting a 200 with the claims as JSON; the claims. */
async function callApiOk(page) {
  const answer = await callApi(page);
  assert.equal(answer.status, 200, answer.body);
  assert.equal(answer.state, 'done');
  return JSON.parse(answer.body);
}

/** A request with the session cookie copied out of the browser (Node's fetch, no redirects). */
function withCookie(example, cookie, urlPath, init = {}) {
  return fetch(`${example.app}${urlPath}`, {
    redirect: 'manual',
    ...init,
    headers: { cookie: `${cookie.name}=${cookie.value}`, ...(init.headers || {}) },
  });
}

function jwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
}

/**
 * A stand-in for another site: a page with a form posting to `action` (its URL's `action`
 * query parameter), served on a loopback port of its own.
 */
async function startOtherSite() {
  const server = createServer((request, response) => {
    const action = new URL(request.url, 'http://x').searchParams.get('action') || '';
    const escaped = action.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><title>another site</title>
<form id="forged" method="post" action="${escaped}"><input name="note" value="forged">
<button id="go" type="submit">Win a prize</button></form>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port };
}

/** Submits the other site's form to `target`; the app's answer to the navigation. */
async function submitForgedForm(page, siteOrigin, target) {
  await page.goto(`${siteOrigin}/?action=${encodeURIComponent(target)}`);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click('#go'),
  ]);
  return { status: response.status(), body: await response.text() };
}

let browser;
let example;
let shortLived;
let otherSite;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  [browser, example, shortLived, otherSite] = await Promise.all([
    puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    }),
    startExample(),
    startExample({ MOCK_ACCESS_TOKEN_LIFETIME: String(SHORT_LIFETIME_S) }),
    startOtherSite(),
  ]);
});

after(async () => {
  await browser?.close();
  stopExample(example);
  stopExample(shortLived);
  otherSite?.server.close();
});

test('sign in through the mock: an opaque __Host- cookie, no token in the page', async () => {
  assert.equal(example.cookie, COOKIE, 'Secure cookies are on (the default)');
  const { context, page, log } = await newPage(browser);
  // Every answer the app sent the browser, for the search for tokens below.
  const appBodies = [];
  page.on('response', (response) => {
    if (response.url().startsWith(example.app) && !(response.status() >= 300 && response.status() < 400)) {
      appBodies.push(response.text().catch(() => ''));
    }
  });
  await signIn(page, example);

  // The browser went to Okta's authorize endpoint with a code request (PKCE, state, nonce) for
  // the web app and this app's callback; the code was exchanged by the backend, not the browser.
  const authorize = log.requests.filter((r) => r.url.startsWith(`${example.issuer}/v1/authorize`));
  assert.equal(authorize.length, 1);
  const params = new URL(authorize[0].url).searchParams;
  assert.equal(params.get('client_id'), example.clientId);
  assert.equal(params.get('response_type'), 'code');
  assert.equal(params.get('redirect_uri'), `${example.app}/callback`);
  assert.equal(params.get('code_challenge_method'), 'S256');
  assert.ok(params.get('state') && params.get('nonce'));
  assert.ok(params.get('scope').split(' ').includes('offline_access'));
  assert.ok(log.requests.some((r) => r.url.startsWith(`${example.app}/callback?code=`)));
  assert.ok(!log.requests.some((r) => r.url.startsWith(`${example.issuer}/v1/token`)),
    'the browser never calls the token endpoint');
  // Back on the page, the code gone from the address bar; the user shown.
  assert.equal(page.url(), `${example.app}/`);
  assert.equal(await page.$eval('#user-sub', (e) => e.textContent), 'jane.doe@example.com');

  // The cookie: __Host- prefix, HttpOnly, Secure, SameSite=Lax, Path=/, host-only (no Domain),
  // a session cookie, and an opaque id, not a token.
  const cookie = await sessionCookie(context, example);
  assert.ok(cookie, `no ${COOKIE} cookie: ${JSON.stringify(await context.cookies())}`);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');
  assert.equal(cookie.domain, 'localhost', 'host-only');
  assert.equal(cookie.session, true);
  assert.ok(cookie.value.length < 60 && !cookie.value.includes('.'), cookie.value);
  assert.equal((await context.cookies()).length, 1, 'no other cookie');

  // Nothing for JavaScript: the cookie is HttpOnly, the storages are empty.
  const seen = await page.evaluate(async () => ({
    cookie: document.cookie,
    local: localStorage.length,
    session: sessionStorage.length,
    indexedDb: (await indexedDB.databases()).length,
    html: document.documentElement.outerHTML,
    source: await (await fetch('/')).text(),
  }));
  assert.equal(seen.cookie, '');
  assert.equal(seen.local, 0);
  assert.equal(seen.session, 0);
  assert.equal(seen.indexedDb, 0);
  for (const text of [seen.html, seen.source, ...(await Promise.all(appBodies))]) {
    assert.ok(!text.includes('eyJ'), `a JWT in what the app sent:\n${text}`);
  }
  assert.deepEqual(log.consoleErrors, []);
  await context.close();
});

test('the page calls the API with the session cookie only', async () => {
  const { context, page, log } = await newPage(browser);
  await signIn(page, example);
  const me = await callApiOk(page);
  assert.equal(me.sub, 'jane.doe@example.com');
  assert.equal(me.iss, example.issuer);
  assert.equal(me.cid, example.clientId);
  assert.match(me.jti, /^AT\./);
  assert.ok(me.scp.includes('offline_access'));
  // The request the page sent: same-origin, the cookie and no Authorization header.
  const call = log.requests.filter((r) => r.url === `${example.app}/api/me`);
  assert.equal(call.length, 1);
  assert.equal(call[0].headers.authorization, undefined);
  // The JSON shown on the page is claims, not a token.
  const shown = await page.$eval('#api-body', (e) => e.textContent);
  assert.ok(!shown.includes('eyJ'));
  await context.close();
});

test('an access token about to expire is refreshed silently', async () => {
  const { context, page, log } = await newPage(browser);
  await signIn(page, shortLived);
  const cookieBefore = await sessionCookie(context, shortLived);
  const first = await callApiOk(page);
  assert.equal(first.exp - first.iat, SHORT_LIFETIME_S);
  // Fresh, the token is used as it is.
  assert.equal((await callApiOk(page)).jti, first.jti, 'no refresh while the token is fresh');
  // Once it expires within a minute, the next call gets a new one.
  const deadline = Date.now() + REFRESH_DEADLINE_MS;
  let refreshed = first;
  let calls = 2;
  while (refreshed.jti === first.jti) {
    assert.ok(Date.now() < deadline, `no refresh within ${REFRESH_DEADLINE_MS} ms (${calls} calls)`);
    await new Promise((resolve) => setTimeout(resolve, 250)); // poll interval, not a result
    refreshed = await callApiOk(page);
    calls += 1;
  }
  assert.equal(refreshed.sub, first.sub);
  assert.ok(refreshed.iat >= first.iat);
  assert.ok(refreshed.exp > first.exp);
  // Refreshed once, then used.
  const again = await callApiOk(page);
  assert.equal(again.jti, refreshed.jti);
  // Silent: no new sign-in, no navigation, the same session cookie.
  assert.equal(log.requests.filter((r) => r.url.startsWith(`${shortLived.issuer}/v1/authorize`)).length, 1);
  assert.equal(page.url(), `${shortLived.app}/`);
  assert.equal((await sessionCookie(context, shortLived)).value, cookieBefore.value);
  await context.close();
});

test('cross-site POSTs with the session cookie are refused', async () => {
  const { context, page } = await newPage(browser);
  await signIn(page, example);
  const cookie = await sessionCookie(context, example);

  // At the HTTP level, with the cookie copied out of the browser: the Origin decides.
  const post = (headers) => withCookie(example, cookie, '/api/echo', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', ...headers },
    body: 'hello',
  });
  const evil = await post({ origin: 'https://evil.example' });
  assert.equal(evil.status, 403);
  assert.match(await evil.text(), /cross-site request/);
  const noOrigin = await post({});
  assert.equal(noOrigin.status, 403);
  const own = await post({ origin: example.app });
  assert.equal(own.status, 200);
  assert.deepEqual(await own.json(), { sub: 'jane.doe@example.com', body: 'hello' });

  // In the browser, from a page of the same site but another origin (localhost, another port):
  // SameSite=Lax lets the cookie go with the form POST (403 comes from the CSRF check, which runs
  // only for requests carrying a session cookie), and the Origin check refuses it.
  const sameSite = `http://localhost:${otherSite.port}`;
  const echo = await submitForgedForm(page, sameSite, `${example.app}/api/echo`);
  assert.equal(echo.status, 403, echo.body);
  assert.match(echo.body, /cross-site request/);
  const logout = await submitForgedForm(page, sameSite, `${example.app}/logout`);
  assert.equal(logout.status, 403, logout.body);

  // From another site (127.0.0.1 is not localhost's site): the browser does not send the
  // SameSite=Lax cookie with a cross-site POST at all, so the request has no session: 401.
  const crossSite = `http://127.0.0.1:${otherSite.port}`;
  const blind = await submitForgedForm(page, crossSite, `${example.app}/api/echo`);
  assert.equal(blind.status, 401, blind.body);

  // The session survived all of it.
  await page.goto(`${example.app}/`);
  await page.waitForSelector('body[data-state="signed-in"]');
  const me = await callApiOk(page);
  assert.equal(me.sub, 'jane.doe@example.com');
  await context.close();
});

test('sign out ends the session at the app and at Okta', async () => {
  const { context, page, log } = await newPage(browser);
  await signIn(page, example);
  const cookie = await sessionCookie(context, example);
  await callApiOk(page);
  const mark = log.requests.length;

  await page.click('#signout');
  // Back on the sign-out redirect URI (the mock's redirect may end it with an empty `?`).
  await page.waitForFunction(
    (app) => `${location.origin}${location.pathname}` === `${app}/` && document.body
      && document.body.dataset.state === 'signed-out',
    {},
    example.app,
  );
  const since = log.requests.slice(mark);
  // POST /logout, then Okta's /v1/logout with the ID token as hint, back to the sign-out URI.
  const logout = since.find((r) => r.url === `${example.app}/logout`);
  assert.ok(logout, 'the form posted to /logout');
  assert.equal(logout.method, 'POST');
  const okta = since.filter((r) => r.url.startsWith(`${example.issuer}/v1/logout?`));
  assert.equal(okta.length, 1, `Okta's /v1/logout: ${since.map((r) => r.url).join('\n')}`);
  const params = new URL(okta[0].url).searchParams;
  assert.equal(params.get('post_logout_redirect_uri'), `${example.app}/`);
  const hint = jwtPayload(params.get('id_token_hint'));
  assert.equal(hint.aud, example.clientId);
  assert.equal(hint.iss, example.issuer);
  const withoutQuery = (url) => `${new URL(url).origin}${new URL(url).pathname}`;
  const last = since[since.length - 1];
  assert.equal(withoutQuery(last.url), `${example.app}/`);
  assert.ok(last.navigation);
  assert.equal(withoutQuery(page.url()), `${example.app}/`);

  // The app's session is gone: the API says 401 to the browser and to the old cookie replayed
  // outside it. (The browser may still hold the old, dead id: tower-sessions' removal cookie,
  // `__Host-okta-session=; Path=/; Max-Age=0`, lacks `Secure`, and Chromium ignores a __Host-
  // cookie without it. The id names no session any more, as the 401s show.)
  const left = await sessionCookie(context, example);
  assert.ok(left === undefined || left.value === cookie.value, 'no new session after sign-out');
  const status = await page.evaluate(async () => (await fetch('/api/me')).status);
  assert.equal(status, 401);
  const replay = await withCookie(example, cookie, '/api/me');
  assert.equal(replay.status, 401);
  assert.match(await page.$eval('#user', (e) => e.textContent), /signed out/);

  // Signing in again works, with a new session id.
  await signIn(page, example);
  const again = await sessionCookie(context, example);
  assert.notEqual(again.value, cookie.value);
  assert.equal((await callApiOk(page)).sub, 'jane.doe@example.com');
  await context.close();
});
