//! The API's errors: a status and an `{error, message}` body, how the session
//! manager's and axum's errors map onto them, and a JSON extractor that rejects in
//! that shape.

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::serve::sessions::SessionError;

/// An API error: a status and the `{error, message}` body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

/// The body of every error response.
#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        response
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> ApiError {
        let (status, code) = match &e {
            SessionError::LessonNotFound(_) => (StatusCode::NOT_FOUND, "lesson_not_found"),
            SessionError::NotFound(_) => (StatusCode::NOT_FOUND, "session_not_found"),
            SessionError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            SessionError::AtCapacity(_) => (StatusCode::SERVICE_UNAVAILABLE, "at_capacity"),
            SessionError::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
            SessionError::NoNode(_) => (StatusCode::NOT_FOUND, "node_not_found"),
            SessionError::Answers(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_answers"),
            SessionError::Backend(_) => (StatusCode::SERVICE_UNAVAILABLE, "backend_error"),
            SessionError::CannotReset(_) => (StatusCode::CONFLICT, "cannot_reset"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let code = match rejection.status() {
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "not_json",
            _ => "bad_body",
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

/// `axum::Json` with errors in the API's shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
