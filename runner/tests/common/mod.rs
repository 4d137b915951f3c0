//! What the Docker test binaries share: the backend, the tests' node image, lesson
//! builders, and [`Session`], the guard that removes a test's environment pass or fail.
// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use runner::docker::{DockerBackend, DockerConfig, LABEL_SESSION};
use runner::{Backend, ExecOutput, ExecRequest, ProgressSender, SessionId, Terminal};
use scenarios::{Environment, Lesson, NodeImage, NodeSpec, Script};
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;

pub const TIMEOUT: Duration = Duration::from_secs(20);

pub async fn backend() -> DockerBackend {
    backend_with(DockerConfig::default()).await
}

/// A backend under an operator's own settings.
pub async fn backend_with(config: DockerConfig) -> DockerBackend {
    match DockerBackend::connect(config).await {
        Ok(b) => b,
        Err(e) => panic!(
            "Docker is unreachable, these tests need the real engine: start dockerd; see .ci/setup-machine ({e})"
        ),
    }
}

/// The tests' node image, built once per test binary through the `build:` path.
pub async fn node_image() -> NodeImage {
    static BUILT: OnceCell<()> = OnceCell::const_new();
    let image = NodeImage::Build(fixture("node-image"));
    BUILT
        .get_or_init(|| async {
            backend()
                .await
                .ensure_image(&image, &ProgressSender::discard())
                .await
                .unwrap_or_else(|e| panic!("building the test node image: {e}"));
        })
        .await;
    image
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/docker_fixtures")
        .join(name)
}

pub fn node(name: &str, image: &NodeImage) -> NodeSpec {
    NodeSpec::new(name, image.clone())
}

pub fn lesson(nodes: Vec<NodeSpec>) -> Lesson {
    Lesson::with_environment(
        "docker-test",
        env!("CARGO_MANIFEST_DIR"),
        Environment::new(nodes),
    )
}

pub fn script(node: &str, run: &str) -> Script {
    Script {
        node: node.to_owned(),
        run: run.to_owned(),
        foreground: false,
    }
}

/// A test session; its environment is destroyed when the guard drops, pass or fail.
pub struct Session(SessionId);

impl Session {
    pub fn new() -> Session {
        Session(format!("pltest{}", SessionId::random()).parse().unwrap())
    }
}

impl std::ops::Deref for Session {
    type Target = SessionId;
    fn deref(&self) -> &SessionId {
        &self.0
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let session = self.0.clone();
        // Drop cannot await, and may run inside the test's runtime: use a thread.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async { backend().await.destroy(&session).await })
        })
        .join();
    }
}

/// Names of the containers, networks and volumes labelled with the session.
pub async fn labelled(backend: &DockerBackend, session: &SessionId) -> Vec<String> {
    use bollard::query_parameters::{
        ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
    };
    let filters = || {
        Some(
            [(
                "label".to_owned(),
                vec![format!("{LABEL_SESSION}={session}")],
            )]
            .into(),
        )
    };
    let docker = backend.docker();
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: filters(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let networks = docker
        .list_networks(Some(ListNetworksOptions { filters: filters() }))
        .await
        .unwrap();
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions { filters: filters() }))
        .await
        .unwrap();
    containers
        .into_iter()
        .flat_map(|c| c.names.unwrap_or_default())
        .chain(networks.into_iter().filter_map(|n| n.name))
        .chain(
            volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.name),
        )
        .collect()
}

pub async fn sh(
    backend: &impl Backend,
    session: &SessionId,
    node: &str,
    script: &str,
) -> ExecOutput {
    backend
        .exec(session, node, ExecRequest::new(script, TIMEOUT))
        .await
        .unwrap_or_else(|e| panic!("exec {script:?} on {node}: {e}"))
}

/// Reads the terminal until `needle` appears; returns everything read.
pub async fn read_until(terminal: &mut Terminal, needle: &[u8]) -> Vec<u8> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(TIMEOUT, async {
        while let Some(chunk) = terminal.output.next().await {
            // Search only where the needle can newly appear: reads can be megabytes.
            let from = seen.len().saturating_sub(needle.len());
            seen.extend_from_slice(&chunk.unwrap());
            if seen[from..].windows(needle.len()).any(|w| w == needle) {
                return true;
            }
        }
        false
    })
    .await;
    let tail = &seen[seen.len().saturating_sub(400)..];
    assert_eq!(
        found,
        Ok(true),
        "waiting for {:?}; the terminal's last output: {:?}",
        String::from_utf8_lossy(needle),
        String::from_utf8_lossy(tail)
    );
    seen
}

pub async fn type_line(terminal: &mut Terminal, line: &str) {
    terminal.input.write_all(line.as_bytes()).await.unwrap();
    terminal.input.write_all(b"\n").await.unwrap();
    terminal.input.flush().await.unwrap();
}
