//! What a session operation can refuse, for the HTTP edge to map onto status codes.

use runner::RunnerError;
use runner::judge::{AnswerError, JudgeError};

use crate::serve::status::Status;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("there is no lesson {0:?}")]
    LessonNotFound(String),
    #[error("there is no session {0}")]
    NotFound(String),
    #[error("this session belongs to someone else")]
    Forbidden,
    #[error("the lab is full ({0} sessions running); try again in a minute")]
    AtCapacity(usize),
    #[error("the lab's {0} engine does not answer; try again in a few seconds")]
    EngineUnreachable(&'static str),
    /// The backend has no room for the lesson's environment (a full swarm).
    #[error("the lab has no room for this lesson now ({0}); try again in a minute")]
    PoolFull(String),
    #[error("the session is {0:?}, not ready")]
    NotReady(Status),
    #[error("the lesson has no node {0:?}")]
    NoNode(String),
    #[error(transparent)]
    Answers(#[from] AnswerError),
    #[error(transparent)]
    Backend(#[from] RunnerError),
    /// A reset to the current step that cannot be done (see `runner::environment::replay_to`).
    #[error(transparent)]
    CannotReset(RunnerError),
}

/// A step that could not be judged: bad answers are the client's mistake (a 422), a
/// check that could not run is the backend's (a 503).
impl From<JudgeError> for SessionError {
    fn from(e: JudgeError) -> SessionError {
        match e {
            JudgeError::Answers(e) => SessionError::Answers(e),
            JudgeError::Runner(e) => SessionError::Backend(e),
        }
    }
}
