//! Names and labels: how everything an environment has in Docker is found again from
//! its session alone, by a restarted server too.

use std::collections::HashMap;

use super::config::DockerConfig;
use crate::session::SessionId;

/// Label holding the session id, on every container and network playlab creates.
pub const LABEL_SESSION: &str = "playlab.session";
/// Label holding the lesson id.
pub const LABEL_LESSON: &str = "playlab.lesson";
/// Label holding the node name (containers only: a network belongs to no single node).
pub const LABEL_NODE: &str = "playlab.node";
/// Label holding [`DockerConfig::owner`], when set.
pub const LABEL_OWNER: &str = "playlab.owner";

/// `playlab-<session>-<node>`.
pub fn container_name(session: &SessionId, node: &str) -> String {
    format!("playlab-{session}-{node}")
}

/// `playlab-<session>`.
pub fn network_name(session: &SessionId) -> String {
    format!("playlab-{session}")
}

/// The labels on everything an environment has (nodes add [`LABEL_NODE`]).
pub(super) fn environment_labels(
    config: &DockerConfig,
    session: &SessionId,
    lesson: &str,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = [
        (LABEL_SESSION.to_owned(), session.to_string()),
        (LABEL_LESSON.to_owned(), lesson.to_owned()),
    ]
    .into();
    if let Some(owner) = &config.owner {
        labels.insert(LABEL_OWNER.to_owned(), owner.clone());
    }
    labels
}

/// The label filter terms for every environment a backend with `config` owns.
pub(super) fn owned_labels(config: &DockerConfig) -> Vec<String> {
    let mut terms = vec![LABEL_SESSION.to_owned()];
    if let Some(owner) = &config.owner {
        terms.push(format!("{LABEL_OWNER}={owner}"));
    }
    terms
}

/// The label filter term for one session's containers and networks.
pub(super) fn session_label(session: &SessionId) -> String {
    format!("{LABEL_SESSION}={session}")
}

/// A Docker `label` filter matching objects that carry every term (Docker ANDs them).
pub(super) fn label_filter(
    terms: impl IntoIterator<Item = String>,
) -> HashMap<String, Vec<String>> {
    [("label".to_owned(), terms.into_iter().collect())].into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_session() {
        let s: SessionId = "abc123".parse().unwrap();
        assert_eq!(container_name(&s, "node01"), "playlab-abc123-node01");
        assert_eq!(network_name(&s), "playlab-abc123");
    }
}
