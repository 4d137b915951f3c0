//! The session id: the key of every environment operation.
//!
//! A leaf: it imports nothing of ours, so the error type and the backend contract can
//! both name it without importing each other. Parsing (`impl FromStr for SessionId`)
//! lives in [`crate::error`], beside the [`crate::RunnerError`] it returns.

use std::fmt;

use serde::Serialize;

/// Identifies a session, and so its environment. Lowercase ASCII letters and digits,
/// 1 to 32 characters: it is part of container and network names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id.
    pub fn random() -> SessionId {
        use rand::Rng;
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        SessionId(
            (0..12)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// `s` as an id when it is one (see the type's docs); `str::parse` says why not.
    pub(crate) fn checked(s: &str) -> Option<SessionId> {
        let valid = (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        valid.then(|| SessionId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
