//! The API's errors: a status and an `{error, message}` body, how the session
//! manager's and axum's errors map onto them, and a JSON extractor that rejects in
//! that shape.

use std::time::Duration;

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::serve::classes::ClassError;
use crate::serve::sessions::SessionError;

/// How long a client refused while the lab's engine does not answer should wait: an
/// engine restarts in seconds.
const ENGINE_RETRY: Duration = Duration::from_secs(5);

/// An API error: a status and the `{error, message}` body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for `Retry-After` (a 503 says 30 unless told otherwise).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(30),
        }
    }

    pub fn retry_after(mut self, after: Duration) -> ApiError {
        self.retry_after = Some(after.as_secs().max(1));
        self
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
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
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
            SessionError::PoolFull(_) => (StatusCode::SERVICE_UNAVAILABLE, "pool_full"),
            SessionError::EngineUnreachable(_) => {
                let error = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "engine_unreachable",
                    e.to_string(),
                );
                return error.retry_after(ENGINE_RETRY);
            }
            SessionError::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
            SessionError::NoNode(_) => (StatusCode::NOT_FOUND, "node_not_found"),
            SessionError::Answers(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_answers"),
            SessionError::Backend(_) => (StatusCode::SERVICE_UNAVAILABLE, "backend_error"),
            SessionError::CannotReset(_) => (StatusCode::CONFLICT, "cannot_reset"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<ClassError> for ApiError {
    fn from(e: ClassError) -> ApiError {
        let (status, code) = match &e {
            ClassError::BadName(_) => (StatusCode::BAD_REQUEST, "bad_name"),
            ClassError::BadClass(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_class"),
            ClassError::BadMessage(_) => (StatusCode::BAD_REQUEST, "bad_message"),
            ClassError::UnknownLesson(_) => (StatusCode::UNPROCESSABLE_ENTITY, "lesson_not_found"),
            ClassError::NotFound(_) => (StatusCode::NOT_FOUND, "class_not_found"),
            ClassError::WrongCode => (StatusCode::FORBIDDEN, "wrong_code"),
            ClassError::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            ClassError::Full { .. } => (StatusCode::CONFLICT, "class_full"),
            ClassError::Over(_) => (StatusCode::FORBIDDEN, "class_over"),
            ClassError::InAnotherClass(_) => (StatusCode::CONFLICT, "in_another_class"),
            ClassError::NotAMember => (StatusCode::NOT_FOUND, "not_in_a_class"),
            ClassError::LessonNotInClass { .. } => (StatusCode::FORBIDDEN, "lesson_not_in_class"),
            ClassError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "database_error"),
        };
        let error = ApiError::new(status, code, e.to_string());
        match e {
            ClassError::TooManyAttempts(wait) => error.retry_after(wait),
            _ => error,
        }
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
