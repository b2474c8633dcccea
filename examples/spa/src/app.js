// The SPA of `cargo run --example spa`: signs in with @okta/okta-auth-js (Authorization Code with
// PKCE by default, `?flow=implicit` for the implicit flow), shows the ID token's claims and the
// userinfo, and calls the API's `GET /api/me` with the access token.
//
// DPoP mode (`?dpop=1`, PKCE only; `?dpop=0` turns it off): okta-auth-js binds the tokens to a key
// pair of its own (RFC 9449) and every API call carries `Authorization: DPoP <token>` with a fresh
// `DPoP` proof. Three more buttons send what the API must refuse: the bound token as a Bearer
// token, the previous request's proof again, and a proof made for another URL.
//
// The example binary serves this page on http://localhost:8585 with a generated /config.json
// ({ issuer, clientId, apiUrl }). Built with `npm run build` (esbuild) into dist/app.js.

import { OktaAuth } from '@okta/okta-auth-js';

const $ = (id) => document.getElementById(id);

/** The flow: `?flow=` when given (remembered for the redirect back), else PKCE. */
function chosenFlow() {
  const asked = new URLSearchParams(window.location.search).get('flow');
  if (asked === 'pkce' || asked === 'implicit') {
    sessionStorage.setItem('spa.flow', asked);
  }
  return sessionStorage.getItem('spa.flow') === 'implicit' ? 'implicit' : 'pkce';
}

/** DPoP mode: `?dpop=1` / `?dpop=0` when given (remembered for the redirect back); PKCE only. */
function chosenDpop(flow) {
  const asked = new URLSearchParams(window.location.search).get('dpop');
  if (asked === '1' || asked === 'true') {
    sessionStorage.setItem('spa.dpop', '1');
  } else if (asked === '0' || asked === 'false') {
    sessionStorage.removeItem('spa.dpop');
  }
  return flow === 'pkce' && sessionStorage.getItem('spa.dpop') === '1';
}

function makeClient(config, flow, dpop) {
  const pkce = flow === 'pkce';
  return new OktaAuth({
    issuer: config.issuer,
    clientId: config.clientId,
    redirectUri: `${window.location.origin}/callback`,
    postLogoutRedirectUri: `${window.location.origin}/`,
    pkce,
    responseType: pkce ? 'code' : ['token', 'id_token'],
    // offline_access asks for a refresh token: PKCE only, the implicit flow never gets one.
    scopes: pkce
      ? ['openid', 'profile', 'email', 'offline_access']
      : ['openid', 'profile', 'email'],
    // Renewal is on demand, right before an API call (see callApi), so every renewal shows on
    // the page; nothing is removed or renewed behind the page's back.
    tokenManager: { autoRenew: false, autoRemove: false },
    // DPoP-bound tokens (RFC 9449): a key pair kept in IndexedDB, a proof on every token request
    // (okta-auth-js retries by itself when the token endpoint asks for a nonce), and
    // `token_type: DPoP` required of the answers.
    dpop,
    // After the callback, stay in the SPA: no reload.
    restoreOriginalUri: async (_client, originalUri) => {
      window.history.replaceState(null, '', originalUri || '/');
    },
  });
}

function describe(error) {
  if (!error) return 'unknown error';
  const parts = [error.name || 'Error', error.errorCode, error.message || error.errorSummary];
  if (error.errorSummary && error.errorSummary !== error.message) parts.push(error.errorSummary);
  return parts.filter(Boolean).join(': ');
}

function showError(context, error) {
  console.error(context, error);
  $('error').hidden = false;
  $('error-text').textContent += `${context}: ${describe(error)}\n`;
  document.body.dataset.error = 'true';
}

function logEvent(text) {
  const time = new Date().toLocaleTimeString();
  $('events').textContent += `${time}  ${text}\n`;
}

/** One character of the signature changed: the token no longer verifies. */
function tamper(jwt) {
  const [header, payload, signature] = jwt.split('.');
  const i = Math.floor(signature.length / 2);
  const replacement = signature[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, i)}${replacement}${signature.slice(i + 1)}`;
}

/** The decoded header and payload of a compact JWS (for display only: nothing is verified). */
function decodeJwt(jwt) {
  const part = (text) => JSON.parse(new TextDecoder().decode(
    Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)),
  ));
  const [header, payload] = jwt.split('.');
  return { header: part(header), payload: part(payload) };
}

/** The RFC 7638 thumbprint of a public JWK: what a bound token's `cnf.jkt` names. */
async function thumbprint(jwk) {
  const members = jwk.kty === 'EC'
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(members)));
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function renderClaims(claims) {
  const table = $('claims');
  table.replaceChildren();
  for (const name of Object.keys(claims).sort()) {
    const row = table.insertRow();
    row.dataset.claim = name;
    row.insertCell().textContent = name;
    const value = claims[name];
    row.insertCell().textContent = typeof value === 'string' ? value : JSON.stringify(value);
  }
}

function renderTokenInfo(authClient) {
  const { accessToken, refreshToken } = authClient.tokenManager.getTokensSync();
  if (!accessToken) {
    $('token-info').textContent = 'none';
    return;
  }
  const expires = new Date(accessToken.expiresAt * 1000).toLocaleTimeString();
  const expired = authClient.tokenManager.hasExpired(accessToken);
  // The key a DPoP-bound token names (`cnf.jkt`); okta-auth-js keeps access tokens undecoded.
  let jkt;
  try {
    jkt = decodeJwt(accessToken.accessToken).payload.cnf?.jkt;
  } catch {
    // Not a JWT: nothing to show.
  }
  $('token-info').textContent = `${accessToken.tokenType}; expires at ${expires}`
    + `${expired ? ' (expired for the SDK)' : ''}; scopes ${accessToken.scopes.join(' ')}; `
    + `refresh token: ${refreshToken ? 'yes' : 'no'}${jkt ? `; bound to the key ${jkt} (cnf.jkt)` : ''}`;
  $('token-info').dataset.expired = String(expired);
  $('token-info').dataset.tokenType = accessToken.tokenType || '';
  $('token-info').dataset.jkt = jkt || '';
}

/** What each API button sends, as the page says it. */
const CALLS = {
  normal: '(access token)',
  tampered: '(tampered access token)',
  bearer: '(the DPoP-bound access token sent as a Bearer token)',
  'replay-proof': "(the previous request's Authorization and DPoP headers sent again)",
  'other-url': '(a DPoP proof made for /api/other)',
};

/**
 * The headers of one DPoP request: `Authorization: DPoP <token>` and a new proof for `url` and GET,
 * made by okta-auth-js with the key the token is bound to (`nonce`: the API's, when it asked).
 */
function dpopHeaders(authClient, accessToken, url, nonce) {
  const params = { url, method: 'GET', accessToken };
  if (nonce) params.nonce = nonce;
  return authClient.getDPoPAuthorizationHeaders(params);
}

/**
 * The request a button sends: `{ url, headers, remake }`, where `remake(nonce)` makes the same
 * request with a new proof carrying the API's nonce (absent when a retry makes no sense).
 */
async function buildRequest(spa, accessToken, call) {
  const { authClient, config } = spa;
  const url = `${config.apiUrl}/api/me`;
  if (!spa.dpop || call === 'bearer') {
    const token = call === 'tampered' ? tamper(accessToken.accessToken) : accessToken.accessToken;
    return { url, headers: { Authorization: `Bearer ${token}` } };
  }
  if (call === 'replay-proof') {
    if (!spa.lastDpopRequest) throw new Error('no DPoP request yet: call the API first');
    return { url: spa.lastDpopRequest.url, headers: { ...spa.lastDpopRequest.headers } };
  }
  const token = call === 'tampered'
    ? { ...accessToken, accessToken: tamper(accessToken.accessToken) }
    : accessToken;
  const proofUrl = call === 'other-url' ? `${config.apiUrl}/api/other` : url;
  const remake = async (nonce) => ({
    url,
    headers: await dpopHeaders(authClient, token, proofUrl, nonce),
    remake: null,
  });
  return { ...(await remake(spa.apiNonce)), remake };
}

/** Shows the proof a request carried (its claims, and the thumbprint of its key), or none. */
async function renderProof(headers) {
  const shown = $('api-proof');
  const proof = Object.entries(headers).find(([name]) => name.toLowerCase() === 'dpop')?.[1];
  for (const key of ['htm', 'htu', 'jti', 'jkt', 'nonce']) delete shown.dataset[key];
  if (!proof) {
    shown.textContent = '';
    return;
  }
  const { header, payload } = decodeJwt(proof);
  const jkt = await thumbprint(header.jwk);
  Object.assign(shown.dataset, { htm: payload.htm, htu: payload.htu, jti: payload.jti, jkt });
  if (payload.nonce) shown.dataset.nonce = payload.nonce;
  shown.textContent = `DPoP proof: ${header.alg}, htm ${payload.htm}, htu ${payload.htu}, `
    + `jti ${payload.jti}${payload.nonce ? `, nonce ${payload.nonce}` : ''}, key thumbprint ${jkt}`;
}

let apiCalls = 0;

async function callApi(spa, { call = 'normal' } = {}) {
  const { authClient } = spa;
  const api = $('api');
  api.dataset.state = 'calling';
  $('api-status').textContent = '…';
  delete $('api-status').dataset.status;
  try {
    const { tokenManager } = authClient;
    let { accessToken, refreshToken } = tokenManager.getTokensSync();
    if (accessToken && tokenManager.hasExpired(accessToken) && call !== 'replay-proof') {
      if (!refreshToken) {
        throw new Error('the access token has expired and there is no refresh token: sign in again');
      }
      logEvent('access token expired: renewing with the refresh token');
      accessToken = await tokenManager.renew('accessToken');
    }
    if (!accessToken) {
      throw new Error('no access token: sign in first');
    }
    let request = await buildRequest(spa, accessToken, call);
    let response = await fetch(request.url, { headers: request.headers });
    // RFC 9449, section 9: the API may ask for a nonce of its own; retry once with it.
    const nonce = response.status === 401 && request.remake
      ? authClient.parseUseDPoPNonceError(response.headers)
      : null;
    if (nonce) {
      logEvent('the API asked for a DPoP nonce: retrying with it');
      spa.apiNonce = nonce;
      request = await request.remake(nonce);
      response = await fetch(request.url, { headers: request.headers });
    }
    if (response.headers.get('DPoP-Nonce')) spa.apiNonce = response.headers.get('DPoP-Nonce');
    if (spa.dpop && call === 'normal') spa.lastDpopRequest = request;
    await renderProof(request.headers);
    const text = await response.text();
    let body = text;
    try {
      body = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: shown as it is.
    }
    $('api-status').textContent = `${response.status} ${response.statusText}`;
    $('api-status').dataset.status = String(response.status);
    $('api-token').textContent = CALLS[call];
    $('api-challenge').textContent = response.headers.get('WWW-Authenticate')
      ? `WWW-Authenticate: ${response.headers.get('WWW-Authenticate')}`
      : '';
    $('api-body').textContent = body;
    api.dataset.tampered = String(call === 'tampered');
    api.dataset.call = call;
    api.dataset.state = 'done';
    const scheme = request.headers.Authorization.split(' ')[0];
    logEvent(`GET /api/me ${CALLS[call]} ${scheme} -> ${response.status}`);
  } catch (error) {
    api.dataset.call = call;
    api.dataset.state = 'error';
    $('api-status').textContent = 'failed';
    showError('API call', error);
  } finally {
    apiCalls += 1;
    api.dataset.calls = String(apiCalls);
    renderTokenInfo(authClient);
  }
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  const flow = chosenFlow();
  const dpop = chosenDpop(flow);
  const authClient = makeClient(config, flow, dpop);
  // What the API calls need; the API's DPoP nonce and the last DPoP request are kept here.
  const spa = { authClient, config, flow, dpop, apiNonce: undefined, lastDpopRequest: null };
  // For the browser console.
  window.spa = spa;

  $('flow').textContent = flow === 'pkce' ? 'Authorization Code with PKCE' : 'Implicit';
  document.body.dataset.flow = flow;
  $('dpop').textContent = dpop ? 'on' : 'off';
  document.body.dataset.dpop = dpop ? 'on' : 'off';
  $('dpop-actions').hidden = !dpop;
  $('issuer').textContent = config.issuer;
  $('api-url').textContent = config.apiUrl;

  let renewals = 0;
  let rotations = 0;
  const currentRefreshToken = () => authClient.tokenManager.getTokensSync().refreshToken?.refreshToken;
  let lastRefreshToken;
  authClient.tokenManager.on('renewed', (key) => {
    if (key !== 'accessToken') return;
    renewals += 1;
    $('renewals').textContent = String(renewals);
    logEvent('access token renewed');
    // okta-auth-js stores a rotated refresh token before it announces the renewal.
    const refreshToken = currentRefreshToken();
    if (refreshToken && refreshToken !== lastRefreshToken) {
      rotations += 1;
      $('rotations').textContent = String(rotations);
      logEvent('refresh token rotated');
    }
    lastRefreshToken = refreshToken;
  });
  authClient.tokenManager.on('expired', (key) => logEvent(`${key} expired`));

  $('signin').addEventListener('click', () => {
    authClient.signInWithRedirect({ originalUri: '/' }).catch((e) => showError('Sign-in', e));
  });
  $('call-api').addEventListener('click', () => callApi(spa));
  $('call-tampered').addEventListener('click', () => callApi(spa, { call: 'tampered' }));
  $('call-as-bearer').addEventListener('click', () => callApi(spa, { call: 'bearer' }));
  $('replay-proof').addEventListener('click', () => callApi(spa, { call: 'replay-proof' }));
  $('proof-other-url').addEventListener('click', () => callApi(spa, { call: 'other-url' }));
  $('renew').addEventListener('click', async () => {
    try {
      if (!authClient.tokenManager.getTokensSync().refreshToken) {
        throw new Error('no refresh token (the implicit flow has none): sign in again');
      }
      await authClient.tokenManager.renew('accessToken');
      renderTokenInfo(authClient);
      await callApi(spa);
    } catch (error) {
      showError('Renewal', error);
    }
  });
  $('signout').addEventListener('click', () => {
    authClient.signOut().catch((e) => showError('Sign-out', e));
  });

  if (authClient.isLoginRedirect()) {
    try {
      await authClient.handleLoginRedirect();
    } catch (error) {
      showError('Sign-in callback', error);
      window.history.replaceState(null, '', '/');
    }
  }
  await authClient.start();
  lastRefreshToken = currentRefreshToken();

  const { idToken } = authClient.tokenManager.getTokensSync();
  if (!idToken) {
    $('signed-out').hidden = false;
    document.body.dataset.state = 'signed-out';
    return;
  }
  $('user').hidden = false;
  $('api').hidden = false;
  $('user-name').textContent = idToken.claims.name || idToken.claims.sub;
  renderClaims(idToken.claims);
  document.body.dataset.state = 'signed-in';
  renderTokenInfo(authClient);

  await callApi(spa);
  try {
    // okta-auth-js adds the response headers to the answer; only the claims are shown.
    const { headers: _headers, ...userinfo } = await authClient.token.getUserInfo();
    $('userinfo').textContent = JSON.stringify(userinfo, null, 2);
  } catch (error) {
    $('userinfo').textContent = describe(error);
  }
}

main().catch((error) => {
  document.body.dataset.state = 'error';
  showError('Start', error);
});
