// The SPA of `cargo run --example spa`: signs in with @okta/okta-auth-js (Authorization Code with
// PKCE by default, `?flow=implicit` for the implicit flow), shows the ID token's claims and the
// userinfo, and calls the API's `GET /api/me` with the access token.
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

function makeClient(config, flow) {
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
  $('token-info').textContent = `expires at ${expires}${expired ? ' (expired for the SDK)' : ''}; `
    + `scopes ${accessToken.scopes.join(' ')}; refresh token: ${refreshToken ? 'yes' : 'no'}`;
  $('token-info').dataset.expired = String(expired);
}

async function callApi(authClient, config, { tampered = false } = {}) {
  const api = $('api');
  api.dataset.state = 'calling';
  $('api-status').textContent = '…';
  delete $('api-status').dataset.status;
  try {
    const { tokenManager } = authClient;
    let { accessToken, refreshToken } = tokenManager.getTokensSync();
    if (accessToken && tokenManager.hasExpired(accessToken)) {
      if (!refreshToken) {
        throw new Error('the access token has expired and there is no refresh token: sign in again');
      }
      logEvent('access token expired: renewing with the refresh token');
      accessToken = await tokenManager.renew('accessToken');
    }
    if (!accessToken) {
      throw new Error('no access token: sign in first');
    }
    const token = tampered ? tamper(accessToken.accessToken) : accessToken.accessToken;
    const response = await fetch(`${config.apiUrl}/api/me`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const text = await response.text();
    let body = text;
    try {
      body = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: shown as it is.
    }
    $('api-status').textContent = `${response.status} ${response.statusText}`;
    $('api-status').dataset.status = String(response.status);
    $('api-token').textContent = tampered ? '(tampered access token)' : '(access token)';
    $('api-challenge').textContent = response.headers.get('WWW-Authenticate')
      ? `WWW-Authenticate: ${response.headers.get('WWW-Authenticate')}`
      : '';
    $('api-body').textContent = body;
    api.dataset.tampered = String(tampered);
    api.dataset.state = 'done';
    logEvent(`GET /api/me ${tampered ? 'with a tampered token ' : ''}-> ${response.status}`);
  } catch (error) {
    api.dataset.state = 'error';
    $('api-status').textContent = 'failed';
    showError('API call', error);
  } finally {
    renderTokenInfo(authClient);
  }
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  const flow = chosenFlow();
  const authClient = makeClient(config, flow);
  // For the browser console.
  window.spa = { authClient, config, flow };

  $('flow').textContent = flow === 'pkce' ? 'Authorization Code with PKCE' : 'Implicit';
  document.body.dataset.flow = flow;
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
  $('call-api').addEventListener('click', () => callApi(authClient, config));
  $('call-tampered').addEventListener('click', () => callApi(authClient, config, { tampered: true }));
  $('renew').addEventListener('click', async () => {
    try {
      if (!authClient.tokenManager.getTokensSync().refreshToken) {
        throw new Error('no refresh token (the implicit flow has none): sign in again');
      }
      await authClient.tokenManager.renew('accessToken');
      renderTokenInfo(authClient);
      await callApi(authClient, config);
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

  await callApi(authClient, config);
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
