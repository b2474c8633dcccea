//! [`AddBearerLayer`]: adds a [`ClientCredentials`] token to outgoing requests.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Request};
use tower_layer::Layer;
use tower_service::Service;

use super::{ClientCredentials, ClientError};

/// Adds this client's access token to outgoing requests; see [`ClientCredentials::layer`].
#[derive(Debug, Clone)]
pub struct AddBearerLayer {
    pub(super) source: ClientCredentials,
}

impl<S> Layer<S> for AddBearerLayer {
    type Service = AddBearer<S>;

    fn layer(&self, inner: S) -> AddBearer<S> {
        AddBearer {
            inner,
            source: self.source.clone(),
        }
    }
}

/// The service of [`AddBearerLayer`].
#[derive(Debug, Clone)]
pub struct AddBearer<S> {
    inner: S,
    pub(super) source: ClientCredentials,
}

/// The error of [`AddBearer`]: no token, or the inner service's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddBearerError<E> {
    /// No token could be had.
    #[error(transparent)]
    Token(ClientError),
    /// The inner service failed.
    #[error("inner service failed: {0}")]
    Inner(E),
}

impl<S, B> Service<Request<B>> for AddBearer<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = AddBearerError<S::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(AddBearerError::Inner)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let source = self.source.clone();
        Box::pin(async move {
            let token = source.token().await.map_err(AddBearerError::Token)?;
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.secret()))
                .map_err(|_| AddBearerError::Token(ClientError::InvalidResponse))?;
            value.set_sensitive(true);
            req.headers_mut().insert(http::header::AUTHORIZATION, value);
            inner.call(req).await.map_err(AddBearerError::Inner)
        })
    }
}
