//! [`ResponseFuture`] of the [`OktaAuth`](crate::OktaAuth) service.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;
use tracing::instrument::{Instrument, Instrumented};
use tracing::Span;

use crate::response::ResponseBody;

/// The boxed future of a request that waits for a JWKS fetch (rare: a new `kid`).
pub(crate) type SlowFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

pin_project! {
    /// Response future of [`OktaAuth`](crate::OktaAuth).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        // The token verified with a cached key: the inner service's future, inside the
        // verification span so that the handler's events carry it.
        Inner { #[pin] future: Instrumented<F> },
        // The key had to be fetched: verification and the inner call, boxed.
        Slow { future: SlowFuture<B, E> },
        // Refused before the inner service was called.
        Rejected { response: Option<Response<ResponseBody<B>>> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture::inner_in(future, Span::none())
    }

    pub(crate) fn inner_in(future: F, span: Span) -> Self {
        ResponseFuture {
            kind: Kind::Inner {
                future: future.instrument(span),
            },
        }
    }

    pub(crate) fn slow(future: SlowFuture<B, E>) -> Self {
        ResponseFuture {
            kind: Kind::Slow { future },
        }
    }

    pub(crate) fn rejected(response: Response<ResponseBody<B>>) -> Self {
        ResponseFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> std::fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResponseBody::inner)))
            }
            KindProj::Slow { future } => future.as_mut().poll(cx),
            KindProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}
