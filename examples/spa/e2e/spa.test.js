// End to end: the SPA of `cargo run --example spa` in headless Chromium (Debian's, through
// puppeteer-core), signing in with @okta/okta-auth-js against the embedded mock Okta and calling
// the tower-okta-protected API.
//
//   node --test examples/spa/e2e/        (examples/spa/e2e/run.sh installs what it needs)
//
// Environment: SPA_EXAMPLE_BIN (a built `spa` example binary; default `cargo run --example spa`),
// CHROMIUM (default /usr/bin/chromium), UPDATE_SCREENSHOT=1 to rewrite docs/spa-signed-in.png
// (otherwise the screenshot goes to a temporary directory).
//
// Every wait is for a DOM condition or a process line, with a timeout; nothing sleeps.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const crateRoot = path.resolve(here, '../../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// `cargo run` may have to build first.
const START_TIMEOUT_MS = process.env.SPA_EXAMPLE_BIN ? 30_000 : 600_000;
const UI_TIMEOUT_MS = 15_000;

/** Starts the example on free ports; resolves with its printed URLs once it prints them. */
function startExample(extraEnv = {}) {
  const bin = process.env.SPA_EXAMPLE_BIN;
  const [command, args] = bin
    ? [bin, []]
    : ['cargo', ['run', '--quiet', '--example', 'spa']];
  const child = spawn(command, args, {
    cwd: crateRoot,
    env: {
      ...process.env,
      BIND: '127.0.0.1:0',
      SPA_BIND: '127.0.0.1:0',
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
      reject(new Error(`the example printed no URLs within ${START_TIMEOUT_MS} ms\n${stderr}`));
    }, START_TIMEOUT_MS);
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const spa = /^spa:\s+(\S+)$/m.exec(stdout);
      const api = /^api:\s+(\S+)$/m.exec(stdout);
      const issuer = /^issuer:\s+(\S+)$/m.exec(stdout);
      const clientId = /^client id:\s+(\S+)$/m.exec(stdout);
      if (spa && api && issuer && clientId && /^open /m.test(stdout)) {
        clearTimeout(timer);
        resolve({
          child,
          spa: spa[1].replace(/\/$/, ''),
          api: api[1],
          issuer: issuer[1],
          clientId: clientId[1],
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited (${code}) before printing its URLs\n${stderr}`));
    });
  });
}

function stopExample(example) {
  if (example && example.child.exitCode === null) {
    example.child.kill('SIGTERM');
  }
}

/** A fresh browser context (its own storage) and page, recording the token endpoint traffic. */
async function newPage(browser, example) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const log = {
    authorize: [],
    token: [],
    consoleErrors: [],
    /** Waits until every recorded token answer has been read. */
    settled: () => Promise.all(log.token.map((entry) => entry.ready)),
  };
  page.on('request', (request) => {
    if (request.url().startsWith(`${example.issuer}/v1/authorize`)) {
      log.authorize.push(new URL(request.url()));
    }
  });
  page.on('response', async (response) => {
    const request = response.request();
    if (request.url() === `${example.issuer}/v1/token` && request.method() === 'POST') {
      const entry = {
        form: new URLSearchParams(request.postData() || ''),
        status: response.status(),
        json: null,
      };
      // A body that cannot be read stays null and fails the assertions that need it.
      entry.ready = response.json().then((json) => { entry.json = json; }, () => {});
      log.token.push(entry);
    }
  });
  page.on('console', (message) => {
    if (message.type() === 'error') log.consoleErrors.push(message.text());
  });
  return { context, page, log };
}

/** Clicks "Sign in" on `/?flow=...` and waits for the signed-in page and its first API answer. */
async function signIn(page, example, flow) {
  await page.goto(`${example.spa}/?flow=${flow}`);
  await page.waitForSelector('body[data-state="signed-out"]');
  await Promise.all([
    page.waitForSelector('body[data-state="signed-in"]'),
    page.click('#signin'),
  ]);
  await waitForApiAnswer(page);
}

async function waitForApiAnswer(page) {
  await page.waitForSelector('#api[data-state="done"], #api[data-state="error"]');
  return page.evaluate(() => ({
    state: document.querySelector('#api').dataset.state,
    tampered: document.querySelector('#api').dataset.tampered,
    status: Number(document.querySelector('#api-status').dataset.status),
    statusText: document.querySelector('#api-status').textContent,
    challenge: document.querySelector('#api-challenge').textContent,
    body: document.querySelector('#api-body').textContent,
    error: document.querySelector('#error-text').textContent,
  }));
}

async function claims(page) {
  return page.$$eval('#claims tr', (rows) =>
    Object.fromEntries(rows.map((row) => [row.dataset.claim, row.cells[1].textContent])));
}

async function text(page, selector) {
  return page.$eval(selector, (element) => element.textContent);
}

/** Asserts the page shows Jane Doe's ID token claims and the API's 200 with the same user. */
async function assertSignedIn(page, example, answer) {
  assert.equal(answer.state, 'done', answer.error);
  assert.equal(answer.status, 200, answer.body);
  const shown = await claims(page);
  assert.match(shown.sub, /^00u[A-Za-z0-9]{17}$/);
  assert.equal(shown.name, 'Jane Doe');
  assert.equal(shown.email, 'jane.doe@example.com');
  assert.equal(shown.iss, example.issuer);
  assert.equal(shown.aud, example.clientId);
  assert.ok(shown.at_hash, 'the ID token has at_hash');
  assert.ok(shown.nonce, 'the ID token has the nonce of the sign-in');
  assert.equal(await text(page, '#user-name'), 'Jane Doe');

  const me = JSON.parse(answer.body);
  assert.equal(me.sub, 'jane.doe@example.com', 'the access token names the login');
  assert.equal(me.uid, shown.sub, 'and the same user as the ID token');
  assert.equal(me.cid, example.clientId);
  assert.equal(me.iss, example.issuer);
  assert.ok(me.scp.includes('openid'));
  return { shown, me };
}

async function postToken(example, params) {
  const response = await fetch(`${example.issuer}/v1/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, json: await response.json() };
}

let browser;
let example;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  [browser, example] = await Promise.all([
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
  ]);
});

after(async () => {
  await browser?.close();
  stopExample(example);
});

test('PKCE: sign in, claims, API answer, userinfo, screenshot, sign out', async () => {
  const { context, page, log } = await newPage(browser, example);
  await page.setViewport({ width: 1200, height: 860 });
  await signIn(page, example, 'pkce');
  const answer = await waitForApiAnswer(page);
  const { shown } = await assertSignedIn(page, example, answer);

  // What okta-auth-js asked for: a code with an S256 challenge; then the code exchange.
  await log.settled();
  assert.equal(log.authorize.length, 1);
  const authorize = log.authorize[0].searchParams;
  assert.equal(authorize.get('response_type'), 'code');
  assert.equal(authorize.get('code_challenge_method'), 'S256');
  assert.match(authorize.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(authorize.get('redirect_uri'), `${example.spa}/callback`);
  assert.deepEqual(authorize.get('scope').split(' '), ['openid', 'profile', 'email', 'offline_access']);
  assert.equal(log.token.length, 1);
  assert.equal(log.token[0].form.get('grant_type'), 'authorization_code');
  assert.match(log.token[0].form.get('code_verifier'), /^[A-Za-z0-9._~-]{43,128}$/);
  assert.equal(log.token[0].status, 200);
  assert.ok(log.token[0].json.refresh_token, 'offline_access gave a refresh token');
  assert.equal(shown.nonce, authorize.get('nonce'));
  // The code is gone from the address bar.
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(new URL(page.url()).search, '');

  // Userinfo, fetched by okta-auth-js from the mock with the access token (CORS).
  await page.waitForFunction(() => document.querySelector('#userinfo').textContent.includes('"sub"'));
  const userinfo = JSON.parse(await text(page, '#userinfo'));
  assert.equal(userinfo.sub, shown.sub);
  assert.equal(userinfo.preferred_username, 'jane.doe@example.com');

  const screenshotDir = process.env.UPDATE_SCREENSHOT === '1'
    ? path.join(crateRoot, 'docs')
    : mkdtempSync(path.join(tmpdir(), 'spa-e2e-'));
  const screenshot = path.join(screenshotDir, 'spa-signed-in.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);

  // Sign out: okta-auth-js revokes the refresh and access tokens, then goes through
  // /v1/logout back to the page, signed out.
  const refreshToken = log.token[0].json.refresh_token;
  await Promise.all([
    page.waitForNavigation(),
    page.click('#signout'),
  ]);
  await page.waitForSelector('body[data-state="signed-out"]');
  const reuse = await postToken(example, {
    client_id: example.clientId,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    scope: 'openid',
  });
  assert.equal(reuse.status, 400);
  assert.equal(reuse.json.error, 'invalid_grant', 'the refresh token was revoked at sign-out');
  assert.deepEqual(log.consoleErrors, []);
  await context.close();
});

test('implicit: sign in, claims, API answer', async () => {
  const { context, page, log } = await newPage(browser, example);
  await signIn(page, example, 'implicit');
  const answer = await waitForApiAnswer(page);
  const { me } = await assertSignedIn(page, example, answer);

  assert.equal(log.authorize.length, 1);
  const authorize = log.authorize[0].searchParams;
  assert.deepEqual(authorize.get('response_type').split(' ').sort(), ['id_token', 'token']);
  assert.equal(authorize.get('code_challenge'), null);
  assert.ok(authorize.get('nonce'));
  assert.equal(log.token.length, 0, 'the implicit flow never calls the token endpoint');
  assert.deepEqual(me.scp, ['openid', 'profile', 'email']);
  assert.equal(await page.$eval('body', (b) => b.dataset.flow), 'implicit');
  // The tokens are gone from the address bar.
  assert.equal(new URL(page.url()).hash, '');
  assert.deepEqual(log.consoleErrors, []);
  await context.close();
});

test('a tampered access token: the API answers 401 and the page shows it', async () => {
  const { context, page } = await newPage(browser, example);
  await signIn(page, example, 'pkce');
  await page.click('#call-tampered');
  await page.waitForSelector('#api[data-state="done"][data-tampered="true"]');
  const refused = await waitForApiAnswer(page);
  assert.equal(refused.status, 401, refused.body);
  assert.match(refused.statusText, /^401 Unauthorized/);
  assert.equal(JSON.parse(refused.body).error, 'invalid_token');
  assert.match(refused.challenge, /^WWW-Authenticate: Bearer realm="api", error="invalid_token"/);
  assert.doesNotMatch(refused.body, /eyJ/, 'the token is not echoed');

  // The untouched token still works.
  await page.click('#call-api');
  await page.waitForSelector('#api[data-state="done"][data-tampered="false"]');
  assert.equal((await waitForApiAnswer(page)).status, 200);
  await context.close();
});

test('an expired session renews with the rotated refresh token', async () => {
  // Another instance whose mock issues 20-second access tokens: okta-auth-js treats a token as
  // expired 30 s before its exp, so each access token of this session is expired on arrival and
  // every API call must first renew it with the refresh token (which the mock rotates).
  // No grace period for spent refresh tokens (Okta's is 30 s), so that the reuse below is refused.
  const shortLived = await startExample({
    MOCK_ACCESS_TOKEN_LIFETIME: '20',
    MOCK_REFRESH_TOKEN_GRACE: '0',
  });
  try {
    const { context, page, log } = await newPage(browser, shortLived);
    await signIn(page, shortLived, 'pkce');
    const first = await waitForApiAnswer(page);
    await assertSignedIn(page, shortLived, first);
    assert.equal(await text(page, '#renewals'), '1');
    assert.equal(await text(page, '#rotations'), '1');

    await page.click('#call-api');
    await page.waitForFunction(() => document.querySelector('#renewals').textContent === '2');
    const second = await waitForApiAnswer(page);
    assert.equal(second.status, 200, second.body);
    assert.equal(await text(page, '#rotations'), '2');

    await log.settled();
    // The token endpoint saw: the code exchange, then two refreshes, each spending the refresh
    // token the previous answer issued and getting a new one.
    const grants = log.token.map((entry) => entry.form.get('grant_type'));
    assert.deepEqual(grants, ['authorization_code', 'refresh_token', 'refresh_token']);
    for (const entry of log.token) {
      assert.equal(entry.status, 200);
      assert.equal(entry.json.expires_in, 20);
    }
    const issued = log.token.map((entry) => entry.json.refresh_token);
    assert.equal(new Set(issued).size, 3, 'rotated every time');
    assert.equal(log.token[1].form.get('refresh_token'), issued[0]);
    assert.equal(log.token[2].form.get('refresh_token'), issued[1]);
    // The API got the newest access token.
    const me = JSON.parse(second.body);
    const newest = JSON.parse(Buffer.from(log.token[2].json.access_token.split('.')[1], 'base64url'));
    assert.equal(me.jti, newest.jti);

    // A spent refresh token is refused; the reuse also revokes the live one.
    const reuse = await postToken(shortLived, {
      client_id: shortLived.clientId,
      grant_type: 'refresh_token',
      refresh_token: issued[0],
      scope: 'openid',
    });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    await page.click('#call-api');
    await page.waitForSelector('#api[data-state="error"]');
    assert.match(await text(page, '#error-text'), /invalid_grant|refresh token/i);
    await context.close();
  } finally {
    stopExample(shortLived);
  }
});
