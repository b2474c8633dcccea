// End to end: the SPA of `cargo run --example spa` in headless Chromium (Debian's, through
// puppeteer-core), signing in with @okta/okta-auth-js against the embedded mock Okta and calling
// the tower-okta-protected API: Bearer tokens (PKCE and implicit), then DPoP mode (`?dpop=1`),
// where okta-auth-js gets DPoP-bound tokens and the API refuses the token as a Bearer token, a
// replayed proof and a proof for another URL.
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
        // The DPoP proof of the request, and the nonce the answer asked for (DPoP mode).
        dpop: request.headers().dpop,
        dpopNonce: response.headers()['dpop-nonce'],
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

/**
 * Clicks "Sign in" on `/?flow=...` (`&dpop=1` with `{ dpop: true }`) and waits for the signed-in
 * page and its first API answer.
 */
async function signIn(page, example, flow, { dpop = false } = {}) {
  await page.goto(`${example.spa}/?flow=${flow}${dpop ? '&dpop=1' : ''}`);
  await page.waitForSelector('body[data-state="signed-out"]');
  // Signed in, or an error on the page (a failed callback would leave the page signed out).
  await Promise.all([
    page.waitForSelector('body[data-state="signed-in"], body[data-error="true"]'),
    page.click('#signin'),
  ]);
  const { state, error } = await page.evaluate(() => ({
    state: document.body.dataset.state,
    error: document.querySelector('#error-text').textContent,
  }));
  assert.equal(state, 'signed-in', `sign-in failed: ${error}`);
  await waitForApiAnswer(page);
}

async function waitForApiAnswer(page) {
  await page.waitForSelector('#api[data-state="done"], #api[data-state="error"]');
  return page.evaluate(() => ({
    state: document.querySelector('#api').dataset.state,
    tampered: document.querySelector('#api').dataset.tampered,
    call: document.querySelector('#api').dataset.call,
    // The DPoP proof the request carried: htm, htu, jti, jkt (its key's thumbprint); {} if none.
    proof: { ...document.querySelector('#api-proof').dataset },
    status: Number(document.querySelector('#api-status').dataset.status),
    statusText: document.querySelector('#api-status').textContent,
    challenge: document.querySelector('#api-challenge').textContent,
    body: document.querySelector('#api-body').textContent,
    error: document.querySelector('#error-text').textContent,
  }));
}

/** Clicks an API button and waits for that call's answer (the page counts its calls). */
async function clickApi(page, selector) {
  const before = await page.$eval('#api', (api) => Number(api.dataset.calls || 0));
  await page.click(selector);
  await page.waitForFunction(
    (n) => Number(document.querySelector('#api').dataset.calls || 0) > n,
    {},
    before,
  );
  return waitForApiAnswer(page);
}

/**
 * The challenges of a `WWW-Authenticate` value by scheme: `Bearer realm="api", DPoP algs="ES256
 * RS256", error="x"` gives `{ Bearer: 'realm="api"', DPoP: 'algs="ES256 RS256", error="x"' }`.
 */
function challenges(header) {
  const value = header.replace(/^WWW-Authenticate:\s*/, '');
  const byScheme = {};
  // A new challenge starts where a scheme (a token, then a space) follows a comma.
  for (const challenge of value.split(/,\s*(?=[A-Za-z][\w!#$%&'*+.^`|~-]*\s+[\w!#$%&'*+.^`|~-]+=)/)) {
    const [scheme, ...rest] = challenge.trim().split(/\s+/);
    byScheme[scheme] = rest.join(' ');
  }
  return byScheme;
}

function jwtPart(jwt, index) {
  return JSON.parse(Buffer.from(jwt.split('.')[index], 'base64url'));
}
const jwtHeader = (jwt) => jwtPart(jwt, 0);
const jwtPayload = (jwt) => jwtPart(jwt, 1);

/** Console errors other than the browser's line for each 4xx answer the page expects. */
function unexpectedConsoleErrors(log) {
  return log.consoleErrors.filter((line) => !/^Failed to load resource: .* 40[01] /.test(line));
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

// DPoP (RFC 9449): `?dpop=1` makes okta-auth-js bind the tokens to a key pair of its own; every
// API call carries `Authorization: DPoP <token>` and a fresh proof, which the default policy of
// `verifier.layer()` accepts next to Bearer tokens.

/** Signs in in DPoP mode and checks the first API call; returns what the later steps compare. */
async function signInWithDpop(page, example) {
  await signIn(page, example, 'pkce', { dpop: true });
  assert.equal(await page.$eval('body', (b) => b.dataset.dpop), 'on');
  assert.equal(await text(page, '#dpop'), 'on');
  const answer = await waitForApiAnswer(page);
  const { me } = await assertSignedIn(page, example, answer);
  assert.equal(answer.call, 'normal');
  assert.equal(answer.proof.htm, 'GET');
  assert.equal(answer.proof.htu, `${example.api}/api/me`);
  assert.match(answer.proof.jkt, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(me.cnf, `the API's claims have cnf: ${answer.body}`);
  assert.equal(me.cnf.jkt, answer.proof.jkt, "the token is bound to the proof's key");
  return { answer, me };
}

test('DPoP: sign in with DPoP-bound tokens, an API call with a proof, userinfo', async () => {
  const { context, page, log } = await newPage(browser, example);
  const { answer, me } = await signInWithDpop(page, example);

  // The token endpoint saw proofs; the answers that issued tokens say DPoP and bind them.
  await log.settled();
  const issued = log.token.filter((entry) => entry.status === 200);
  assert.deepEqual(issued.map((entry) => entry.form.get('grant_type')), ['authorization_code']);
  for (const entry of log.token) {
    assert.ok(entry.dpop, 'every token request carries a DPoP proof');
    if (entry.status !== 200) {
      // The nonce challenge, which okta-auth-js answers with a new proof.
      assert.equal(entry.status, 400, JSON.stringify(entry.json));
      assert.equal(entry.json.error, 'use_dpop_nonce');
      assert.ok(entry.dpopNonce, 'the challenge carries a DPoP-Nonce');
    }
  }
  const [exchange] = issued;
  assert.equal(exchange.json.token_type, 'DPoP');
  // Okta asks for a nonce first; okta-auth-js answers with a proof that carries it.
  const challenge = log.token[log.token.indexOf(exchange) - 1];
  assert.ok(challenge && challenge.status === 400, 'a use_dpop_nonce answer came first');
  assert.equal(jwtPayload(exchange.dpop).nonce, challenge.dpopNonce);
  const bound = jwtPayload(exchange.json.access_token);
  assert.equal(bound.cnf.jkt, answer.proof.jkt);
  assert.equal(me.jti, bound.jti, 'the API got the issued token');
  assert.equal(jwtHeader(exchange.dpop).typ, 'dpop+jwt');
  assert.ok(!jwtHeader(exchange.dpop).jwk.d, 'the proof carries the public key only');
  assert.equal(jwtPayload(exchange.dpop).htm, 'POST');
  assert.equal(jwtPayload(exchange.dpop).htu, `${example.issuer}/v1/token`);

  // What the page says of its token.
  assert.equal(await page.$eval('#token-info', (e) => e.dataset.tokenType), 'DPoP');
  assert.equal(await page.$eval('#token-info', (e) => e.dataset.jkt), bound.cnf.jkt);

  // Userinfo, fetched by okta-auth-js from the mock with the DPoP-bound token and a proof.
  await page.waitForFunction(() => document.querySelector('#userinfo').textContent !== '…');
  const shownUserinfo = await text(page, '#userinfo');
  assert.match(shownUserinfo, /"sub"/, shownUserinfo);
  const userinfo = JSON.parse(shownUserinfo);
  assert.equal(userinfo.preferred_username, 'jane.doe@example.com');

  // Each call makes a new proof.
  const second = await clickApi(page, '#call-api');
  assert.equal(second.status, 200, second.body);
  assert.notEqual(second.proof.jti, answer.proof.jti);
  assert.equal(second.proof.jkt, answer.proof.jkt);
  assert.deepEqual(unexpectedConsoleErrors(log), []);
  await context.close();
});

test('DPoP: the bound token replayed as a Bearer token is refused', async () => {
  const { context, page } = await newPage(browser, example);
  await signInWithDpop(page, example);
  const refused = await clickApi(page, '#call-as-bearer');
  assert.equal(refused.call, 'bearer');
  assert.equal(refused.status, 401, refused.body);
  assert.deepEqual(refused.proof, {}, 'no proof sent');
  const { DPoP: dpop } = challenges(refused.challenge);
  assert.ok(dpop !== undefined, `a DPoP challenge: ${refused.challenge}`);
  assert.match(dpop, /\berror="invalid_token"/, refused.challenge);
  assert.doesNotMatch(refused.body, /eyJ/, 'the token is not echoed');

  // The same token with a proof still works.
  const again = await clickApi(page, '#call-api');
  assert.equal(again.status, 200, again.body);
  await context.close();
});

test('DPoP: a proof sent again is refused', async () => {
  const { context, page } = await newPage(browser, example);
  const { answer } = await signInWithDpop(page, example);
  const refused = await clickApi(page, '#replay-proof');
  assert.equal(refused.call, 'replay-proof');
  assert.equal(refused.proof.jti, answer.proof.jti, 'the same proof as the accepted call');
  assert.equal(refused.status, 401, refused.body);
  const { DPoP: dpop } = challenges(refused.challenge);
  assert.ok(dpop !== undefined, `a DPoP challenge: ${refused.challenge}`);
  assert.match(dpop, /\berror="invalid_dpop_proof"/, refused.challenge);
  assert.match(dpop, /\balgs="[^"]*\bES256\b[^"]*"/, refused.challenge);
  assert.doesNotMatch(refused.body, /eyJ/, 'neither the token nor the proof is echoed');

  const fresh = await clickApi(page, '#call-api');
  assert.equal(fresh.status, 200, fresh.body);
  await context.close();
});

test('DPoP: a proof made for another URL is refused', async () => {
  const { context, page } = await newPage(browser, example);
  const { answer } = await signInWithDpop(page, example);
  const refused = await clickApi(page, '#proof-other-url');
  assert.equal(refused.call, 'other-url');
  assert.equal(refused.proof.htu, `${example.api}/api/other`);
  assert.equal(refused.proof.jkt, answer.proof.jkt, 'made with the right key');
  assert.equal(refused.status, 401, refused.body);
  const { DPoP: dpop } = challenges(refused.challenge);
  assert.ok(dpop !== undefined, `a DPoP challenge: ${refused.challenge}`);
  assert.match(dpop, /\berror="invalid_dpop_proof"/, refused.challenge);
  await context.close();
});

test('DPoP: renewal proves the same key and the new token works', async () => {
  const { context, page, log } = await newPage(browser, example);
  const { answer, me } = await signInWithDpop(page, example);
  // "Renew tokens" spends the refresh token, then calls the API with the new access token.
  await page.click('#renew');
  await page.waitForFunction(
    () => Number(document.querySelector('#api').dataset.calls) >= 2 || document.body.dataset.error,
  );
  const renewed = await waitForApiAnswer(page);
  assert.equal(await text(page, '#renewals'), '1', renewed.error);
  assert.equal(renewed.status, 200, `${renewed.body}${renewed.error}`);

  await log.settled();
  const issued = log.token.filter((entry) => entry.status === 200);
  assert.deepEqual(
    issued.map((entry) => entry.form.get('grant_type')),
    ['authorization_code', 'refresh_token'],
  );
  const refresh = issued[1];
  assert.ok(refresh.dpop, 'the refresh carries a proof');
  assert.equal(refresh.json.token_type, 'DPoP');
  assert.equal(refresh.form.get('refresh_token'), issued[0].json.refresh_token);
  const newest = jwtPayload(refresh.json.access_token);
  assert.equal(newest.cnf.jkt, answer.proof.jkt, 'bound to the same key');

  const renewedMe = JSON.parse(renewed.body);
  assert.equal(renewedMe.jti, newest.jti, 'the API got the renewed token');
  assert.notEqual(renewedMe.jti, me.jti);
  assert.equal(renewedMe.cnf.jkt, me.cnf.jkt);
  assert.equal(renewed.proof.jkt, answer.proof.jkt);

  const after = await clickApi(page, '#call-api');
  assert.equal(after.status, 200, after.body);
  await context.close();
});
