//! Building responses: every JSON response carries `Content-Type: application/json`.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::error::ApiError;

/// The response body type of every route.
pub(crate) type Body = BoxBody<Bytes, std::convert::Infallible>;

/// A `200` JSON response with a body already encoded.
pub(crate) fn json(body: impl Into<Bytes>) -> Response<Body> {
    with_status(StatusCode::OK, body.into())
}

/// An error response; the error is logged here, where it is handled.
pub(crate) fn error(err: &ApiError) -> Response<Body> {
    err.log();
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_status(status, Bytes::from(err.body()))
}

fn with_status(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
