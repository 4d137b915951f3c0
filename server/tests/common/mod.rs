//! What the server's integration tests share: a real `playlab serve` on
//! `127.0.0.1:0` against the real Docker engine, in this process ([`TestServer`]) or as
//! the `playlab` binary in its own ([`ServerProcess`]), and a learner's client (an HTTP
//! client with its own cookie jar, SSE, WebSocket terminals).

#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use playlab::serve::config::{AuthMode, Limits, OnShutdown};
use playlab::serve::public_url::PublicUrl;
use playlab::serve::recordings::RecordingConfig;
use playlab::serve::{AppState, Catalog, Config};
use reqwest::StatusCode;
use reqwest::cookie::CookieStore;
use runner::docker::{DockerBackend, DockerConfig};
use runner::{Backend, SessionId};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The admin token every test server runs with.
pub const ADMIN_TOKEN: &str = "admin-secret";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content")
}

/// The lessons of the content directory `tests/fixtures/NAME`, which must load cleanly.
pub fn fixture_catalog(name: &str) -> playlab::serve::Catalog {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let (catalog, problems) =
        playlab::serve::Catalog::load(&dir, &scenarios::ImageMap::builtin(false))
            .expect("the fixture loads");
    assert!(problems.is_empty(), "{problems:?}");
    catalog
}

/// The real Docker engine, or a failure that says what to install. Each call is a new
/// owner, so a test server's start-up reconciliation removes only what that backend
/// created, never the environments of other tests or processes on the same engine.
pub async fn docker() -> Arc<dyn Backend> {
    let backend = DockerBackend::connect(DockerConfig {
        owner: Some(format!("test-{}", SessionId::random())),
        ..DockerConfig::default()
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "these tests need a running Docker Engine (Debian: `apt-get install docker.io`, \
                 then start `dockerd`) and the local image debian:bookworm-slim: {e}"
        )
    });
    if let Err(e) = backend.ping().await {
        panic!(
            "these tests need a running Docker Engine (Debian: `apt-get install docker.io`, then \
             start `dockerd`): {e}"
        );
    }
    Arc::new(backend)
}

/// One test server at a time per test binary: the flow-control test measures the whole
/// process's memory, and a server beside it would blur that measurement.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct TestServer {
    pub url: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub backend: Arc<dyn Backend>,
    pub data: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _turn: Option<tokio::sync::MutexGuard<'static, ()>>,
}

pub struct Options {
    pub limits: Limits,
    /// Reuse a data directory (a restart); else a fresh one.
    pub data: Option<PathBuf>,
    pub on_shutdown: OnShutdown,
    pub admin_token: Option<String>,
    /// The lessons to serve instead of the fixture content (`tests/fixtures/content`).
    pub catalog: Option<Catalog>,
    /// `--auth` (open by default); `code` without a server-wide join code.
    pub auth: AuthMode,
    /// Recording settings instead of the defaults (on, under the data directory).
    pub recording: Option<RecordingConfig>,
    /// `--traffic-domain`: web ports in host mode too.
    pub traffic_domain: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            data: None,
            on_shutdown: OnShutdown::Destroy,
            admin_token: Some(ADMIN_TOKEN.into()),
            catalog: None,
            auth: AuthMode::Open,
            recording: None,
            traffic_domain: None,
        }
    }
}

impl TestServer {
    pub async fn start(options: Options) -> TestServer {
        let backend = docker().await;
        let turn = ONE_AT_A_TIME.lock().await;
        let mut server = Self::start_with(options, backend).await;
        server._turn = Some(turn);
        server
    }

    /// Starts a server without waiting for its turn: for a test that runs a second
    /// server after stopping its first.
    pub async fn start_with(options: Options, backend: Arc<dyn Backend>) -> TestServer {
        // Server logs show up with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info,tower_http=warn".into()),
            )
            .with_test_writer()
            .try_init();
        let data = options
            .data
            .unwrap_or_else(|| tempfile::tempdir().expect("a temporary directory").keep());
        let mut config = Config::new(fixtures(), &data);
        config.limits = options.limits;
        config.on_shutdown = options.on_shutdown;
        config.admin_token = options.admin_token;
        config.auth = options.auth;
        config.traffic_domain = options.traffic_domain;
        if let Some(recording) = options.recording {
            config.recording = recording;
        }
        let catalog = options.catalog.unwrap_or_else(|| {
            let (catalog, problems) =
                Catalog::load(&fixtures(), &scenarios::ImageMap::builtin(false))
                    .expect("the fixture content loads");
            assert!(
                problems.is_empty(),
                "fixture content has problems: {problems:?}"
            );
            catalog
        });
        // Bound first: the public URL, which the nodes' web port links name, is the
        // address learners' clients use here.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.public_url = Some(PublicUrl::parse(&format!("http://{addr}")).unwrap());
        let state = AppState::open(config, backend.clone(), catalog).expect("the state opens");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(playlab::serve::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestServer {
            url: format!("http://{addr}"),
            addr,
            state,
            backend,
            data,
            stop: Some(stop),
            task: Some(task),
            _turn: None,
        }
    }

    /// A new learner (a fresh cookie jar).
    pub fn learner(&self) -> Client {
        Client::new(&self.url)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the server stops within 30 s")
                .expect("the server task does not panic")
                .expect("the server stops without an error");
        }
    }

    /// Whether the backend still holds an environment for `id`.
    pub async fn has_environment(&self, id: &str) -> bool {
        let id: SessionId = id.parse().unwrap();
        self.backend.environments().await.unwrap().contains(&id)
    }

    /// Waits until the backend holds no environment for `id`.
    pub async fn wait_destroyed(&self, id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.has_environment(id).await {
            assert!(
                Instant::now() < deadline,
                "the environment of {id} still exists after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A test that failed half-way (or never called `stop`) still must not leave
        // containers behind. Its runtime is going away with it, so the server's own
        // graceful shutdown would be cut off: remove every environment of this test's
        // owner from a thread with a runtime of its own instead.
        let Some(stop) = self.stop.take() else {
            return;
        };
        let _ = stop.send(());
        let backend = self.backend.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the clean-up");
            runtime.block_on(async {
                let all_orphans = std::collections::HashSet::new();
                tokio::time::timeout(Duration::from_secs(60), backend.reconcile(&all_orphans)).await
            })
        });
        if !matches!(cleanup.join(), Ok(Ok(Ok(_)))) {
            eprintln!("could not remove the environments of a test server that did not stop");
        }
    }
}

/// The `playlab` binary serving `content` as its own process, the way an operator runs
/// it: for what only the binary does (signals, flags, TLS), and to measure the server's
/// memory alone. It binds `127.0.0.1:0` itself and announces the address it got, so no
/// other process can take the port in between.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT` or `https://...`, as the server announced it.
    pub url: String,
    pub port: u16,
    _data: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `playlab serve` with the Docker backend (the default), a fresh data
    /// directory, [`ADMIN_TOKEN`] and `extra` flags; returns once it is listening.
    pub async fn start(content: &Path, extra: &[&str]) -> ServerProcess {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_playlab"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--content")
            .arg(content)
            .arg("--data")
            .arg(data.path())
            .args(["--admin-token", ADMIN_TOKEN, "--on-shutdown", "destroy"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the playlab binary starts");
        // The server's stderr is passed on (it shows with a failing test's output); its
        // `serving URL` line says where it listens.
        let stderr = child.stderr.take().unwrap();
        let (announce, announced) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut announce = Some(announce);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[playlab serve] {line}");
                if let Some((_, url)) = line.split_once(" serving ")
                    && let Some(announce) = announce.take()
                {
                    let _ = announce.send(url.trim().to_owned());
                }
            }
        });
        let url = match tokio::time::timeout(Duration::from_secs(60), announced).await {
            Ok(Ok(url)) => url,
            Ok(Err(_)) => panic!(
                "playlab serve exited before listening ({:?}); its stderr is above. It needs \
                 a running Docker Engine (Debian: `apt-get install docker.io`, then start \
                 `dockerd`)",
                child.wait()
            ),
            Err(_) => {
                let _ = child.kill();
                panic!("playlab serve did not say where it listens within 60 s")
            }
        };
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        ServerProcess {
            child,
            url,
            port,
            _data: data,
        }
    }

    /// Sends the server a signal by name (`HUP`, `TERM`), as an operator's `kill` does.
    pub fn signal(&self, name: &str) {
        let status = self.kill(name).expect("kill runs");
        assert!(status.success(), "kill -{name} failed: {status}");
    }

    fn kill(&self, name: &str) -> std::io::Result<std::process::ExitStatus> {
        Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
    }

    /// The server's id (`instance-id` in its data directory): the owner label on its
    /// environments and its liveness record.
    pub fn owner(&self) -> String {
        std::fs::read_to_string(self._data.path().join("instance-id"))
            .expect("a started server has an instance id")
            .trim()
            .to_owned()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb / 1024.0
    }

    /// A graceful shutdown (SIGTERM), which destroys the server's environments; waits
    /// for the process to end.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if !self.is_running() {
            return;
        }
        // No panics here: this also runs while a failed test unwinds.
        let _ = self.kill("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.is_running() {
            if Instant::now() > deadline {
                // Hung: it must not outlive the test.
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Copies a folder tree (a fixture to change in a test without touching the original).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read the folder") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// One learner's browser, as far as the API is concerned.
pub struct Client {
    pub http: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    /// Sent as `Authorization: Bearer` when set.
    pub admin_token: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Client {
            http: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .build()
                .unwrap(),
            jar,
            base: base.to_owned(),
            admin_token: None,
        }
    }

    pub fn admin(base: &str, token: &str) -> Client {
        Client {
            admin_token: Some(token.to_owned()),
            ..Client::new(base)
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.admin_token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.request(method, path);
        if let Some(body) = body {
            r = r.json(&body);
        }
        let response = r.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Creates a session of the fixture lesson and waits, on the events stream, until
    /// it is ready. Returns its id.
    pub async fn ready_session(&self) -> String {
        self.ready_session_of("demo").await
    }

    /// Creates a session of `lesson` and waits, on the events stream, until it is
    /// ready. Returns its id.
    pub async fn ready_session_of(&self, lesson: &str) -> String {
        let (status, session) = self.post("/api/sessions", json!({"lesson": lesson})).await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        let id = session["id"].as_str().unwrap().to_owned();
        let events = self
            .events_until(
                &id,
                |e| e["type"] == "status" && e["status"] != "starting",
                Duration::from_secs(60),
            )
            .await;
        let last = events.last().unwrap();
        assert_eq!(last["status"], "ready", "the session did not start: {last}");
        id
    }

    /// Reads the session's events until `stop` matches one; returns all read.
    pub async fn events_until(
        &self,
        id: &str,
        stop: impl Fn(&Value) -> bool,
        within: Duration,
    ) -> Vec<Value> {
        let mut stream = self.events(&format!("/api/sessions/{id}/events")).await;
        let deadline = tokio::time::Instant::now() + within;
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = stream
                .next(left)
                .await
                .unwrap_or_else(|| panic!("no matching event within {within:?}; got {events:?}"));
            let done = stop(&event);
            events.push(event);
            if done {
                return events;
            }
        }
    }

    /// Opens a Server-Sent Events stream (asserting it is one).
    pub async fn events(&self, path: &str) -> Events {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            ready: std::collections::VecDeque::new(),
        }
    }

    /// Opens a terminal WebSocket; `Err` carries the HTTP status of a refused upgrade.
    pub async fn terminal(&self, id: &str, node: &str, query: &str) -> Result<Term, u16> {
        let url = format!(
            "{}/api/sessions/{id}/terminals/{node}{query}",
            self.base.replace("http://", "ws://")
        );
        let mut request = url.as_str().into_client_request().unwrap();
        if let Some(cookies) = self.jar.cookies(&self.base.parse().unwrap()) {
            request.headers_mut().insert("cookie", cookies);
        }
        if let Some(token) = &self.admin_token {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Term {
                ws,
                screen: Vec::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }
}

/// An open Server-Sent Events stream; each message's data is JSON.
pub struct Events {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
    ready: std::collections::VecDeque<Value>,
}

impl Events {
    /// The next event, or `None` if none comes within `within`. Panics if the stream
    /// ends.
    pub async fn next(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?
                .expect("the event stream ended early")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                for line in block.lines() {
                    if let Some(data) = line.strip_prefix("data:") {
                        self.ready
                            .push_back(serde_json::from_str(data.trim()).unwrap());
                    }
                }
            }
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A terminal from the browser's side.
pub struct Term {
    pub ws: Ws,
    /// Every output byte received so far.
    pub screen: Vec<u8>,
}

/// What arrived on a terminal socket besides output.
#[derive(Debug)]
pub enum Frame {
    /// Output, appended to the screen.
    Output,
    Control(Value),
    Closed(Option<u16>),
}

impl Term {
    pub async fn send(&mut self, keys: &str) {
        self.ws
            .send(Message::Binary(keys.as_bytes().to_vec().into()))
            .await
            .unwrap();
    }

    pub async fn control(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// Reads output until the screen contains `needle` (after `from` bytes); returns
    /// the control frames seen meanwhile.
    pub async fn read_until(&mut self, from: usize, needle: &str, within: Duration) -> Vec<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        let mut frames = Vec::new();
        loop {
            if String::from_utf8_lossy(&self.screen[from.min(self.screen.len())..]).contains(needle)
            {
                return frames;
            }
            let frame = match tokio::time::timeout_at(deadline, self.next_frame()).await {
                Ok(Some(frame)) => frame,
                Ok(None) => panic!(
                    "the terminal closed before {needle:?} appeared; screen: {:?}",
                    String::from_utf8_lossy(&self.screen)
                ),
                Err(_) => panic!(
                    "{needle:?} did not appear within {within:?}; screen: {:?}",
                    String::from_utf8_lossy(&self.screen[self.screen.len().saturating_sub(2000)..])
                ),
            };
            match frame {
                Frame::Output => {}
                Frame::Closed(_) => {
                    panic!("the terminal closed before {needle:?} appeared: {frame:?}")
                }
                Frame::Control(_) => frames.push(frame),
            }
        }
    }

    /// The next control frame or close, skipping output (added to the screen).
    pub async fn next_control(&mut self) -> Option<Frame> {
        loop {
            match self.next_frame().await? {
                Frame::Output => continue,
                other => return Some(other),
            }
        }
    }

    /// The next frame (output is added to the screen), or `None` when the socket
    /// ended.
    pub async fn next_frame(&mut self) -> Option<Frame> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Binary(bytes)) => {
                    self.screen.extend_from_slice(&bytes);
                    return Some(Frame::Output);
                }
                Ok(Message::Text(text)) => {
                    return Some(Frame::Control(serde_json::from_str(&text).unwrap()));
                }
                Ok(Message::Close(frame)) => {
                    return Some(Frame::Closed(frame.map(|f| u16::from(f.code))));
                }
                Ok(_) => continue,
                Err(_) => return Some(Frame::Closed(None)),
            }
        }
    }

    /// Runs a command and returns the output after it, once `marker` appears.
    pub async fn run(&mut self, command: &str, marker: &str) -> String {
        let from = self.screen.len();
        self.send(&format!("{command}\r")).await;
        self.read_until(from, marker, Duration::from_secs(20)).await;
        String::from_utf8_lossy(&self.screen[from..]).into_owned()
    }
}

/// This process's resident memory, in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("VmRSS in /proc/self/status")
}
