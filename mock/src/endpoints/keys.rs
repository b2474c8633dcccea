//! `GET /v1/keys`: the JWKS, with Okta's long `Cache-Control` and injectable faults.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};

use crate::fault;
use crate::reply::{json, Answer};
use crate::state::{lock, Shared};

/// The JWKS (counted, fault first).
pub(crate) async fn get(State(state): State<Arc<Shared>>) -> Answer {
    state.key_fetches.fetch_add(1, Ordering::SeqCst);
    let fault = lock(&state.keys_fault).clone();
    if let Some(answer) = fault::apply(fault, state.now()).await {
        return answer;
    }
    let mut response = json(StatusCode::OK, &state.jwks());
    let cache_control = lock(&state.cache_control).clone();
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}
