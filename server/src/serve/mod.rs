//! `playlab serve`: the web UI, the HTTP API, sessions and terminals.
//!
//! [`main`] turns flags into a [`Config`], connects the backend, loads the content and
//! calls [`run`], which serves any listener until a shutdown future resolves (tests
//! bind `127.0.0.1:0` and pass their own). Module map: [`config`] (flags, file,
//! environment; the parts `test` and `lint` share are in [`crate::settings`]),
//! [`state`] (what handlers share), [`api`] (routes and errors), [`sessions`]
//! (lifecycle, limits, warm pool), [`terminals`] (shared shells over WebSockets),
//! [`foreground`] (Killercoda scripts run in a terminal), [`events`] (SSE),
//! [`language`] (the language a request wants lesson text in),
//! [`status`] (the words of a session's life and end), [`classes`] (classes, their
//! members and roster), [`store`] (SQLite), [`auth`]
//! (identity cookie, admin token), [`metrics`], [`content`] (the served
//! [`crate::catalog`], pages as HTML), [`recordings`] (asciicast files of terminals). Judging a step is runner's ([`runner::judge`]).

pub mod api;
pub mod assets;
pub mod auth;
pub mod classes;
pub mod config;
pub mod content;
pub mod events;
pub mod foreground;
pub mod language;
pub mod metrics;
pub mod node_connections;
pub mod public_url;
pub mod recordings;
pub mod sessions;
pub mod state;
pub mod status;
pub mod store;
pub mod terminals;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use runner::Backend;
use tokio::net::TcpListener;

pub use crate::catalog::Catalog;
pub use config::{Config, Settings};
pub use state::AppState;

use crate::settings::BackendKind;
use config::{OnShutdown, Tls};
use public_url::PublicUrl;

/// The flags of `playlab serve` (see [`Settings`]; [`Settings::load`] adds the file's).
pub type ServeArgs = Settings;

/// How often expiry, idle timeouts and warnings are looked at.
const TICK: Duration = Duration::from_secs(1);
/// How long a graceful shutdown waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves with `settings`: the command line's over the `--config` file's (see
/// [`Settings::load`]).
pub fn main(settings: Settings) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .init();
    let config = Config::validate(settings)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        // Held until the server is done: dropped after `run` returns.
        let (backend, _liveness) = connect_backend(&config).await?;
        let (catalog, problems) = Catalog::load(&config.content, &config.images)?;
        for problem in &problems {
            tracing::warn!("{problem}");
        }
        for lesson in catalog.lessons() {
            if let Some(why) = config.cannot_start(lesson) {
                tracing::warn!(lesson = %lesson.id, "cannot start here: {}", why.message);
            }
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let mut config = config;
        if config.public_url.is_none() {
            let listen = listener.local_addr()?;
            config.public_url = Some(PublicUrl::from_listen(listen, config.tls.is_some()));
        }
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let lessons = catalog.lessons().count();
        let state = AppState::open(config, backend, catalog)?;
        // Listening before the server announces itself: SIGHUP's default action ends
        // the process, so an operator's reload right after start must find the handler.
        #[cfg(unix)]
        {
            let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .context("listening for SIGHUP")?;
            tokio::spawn(reload_on_sighup(hup, state.clone()));
        }
        eprintln!(
            "playlab: {lessons} lessons, {} backend, serving {scheme}://{}",
            state.sessions.backend().name(),
            listener.local_addr()?
        );
        run(listener, state, shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The backend, and for Docker and Swarm the server's liveness record, to hold for as long as
/// the server runs: while it exists, `playlab gc` leaves the server's sessions alone.
async fn connect_backend(
    config: &Config,
) -> anyhow::Result<(Arc<dyn Backend>, Option<runner::docker::Liveness>)> {
    match config.backend {
        BackendKind::Docker => {
            let docker_config = config
                .nodes
                .docker_config(Some(auth::instance_id(&config.data)?));
            let backend = runner::docker::DockerBackend::connect(docker_config)
                .await
                .context("connecting to the Docker engine (start dockerd, or use --backend local for authoring)")?;
            let liveness = backend
                .hold_liveness()
                .await
                .context("making the server's liveness record (see `playlab gc`)")?;
            let backend = Arc::new(backend);
            tokio::spawn(prepare_host(backend.clone(), config.content.join("images")));
            Ok((backend, liveness))
        }
        BackendKind::Swarm => {
            let docker_config = config
                .nodes
                .docker_config(Some(auth::instance_id(&config.data)?));
            let backend = runner::docker::SwarmBackend::connect(docker_config, config.swarm.clone())
                .await
                .context("connecting to the swarm's manager (set DOCKER_HOST to a manager's engine, e.g. tcp://10.0.0.5:2375)")?;
            let liveness = backend
                .hold_liveness()
                .await
                .context("making the server's liveness record on the manager (see `playlab gc`)")?;
            let backend = Arc::new(backend);
            let images_dir = config.content.join("images");
            let building = backend.clone();
            tokio::spawn(async move {
                // System nodes do not run on a swarm: only the base image is wanted.
                let wanted = |tag: &str| tag != scenarios::killercoda::DOCKER_NODE_IMAGE;
                crate::images::build_built_in(building.images(), &images_dir, wanted, log_build)
                    .await;
            });
            Ok((backend, liveness))
        }
        BackendKind::Local => {
            tracing::warn!(
                "the local backend gives NO isolation: every node is a shell on this machine, \
                 as this user; use it only to author lessons"
            );
            Ok((
                Arc::new(
                    runner::local::LocalBackend::new()
                        .context("creating the local backend's folder")?,
                ),
                None,
            ))
        }
    }
}

/// In the background, so the server answers at once: logs what the Docker host
/// supports (system nodes fail there, not here, but the operator reads why at start),
/// then builds the built-in images (the system-node ones only where they may run).
async fn prepare_host(backend: Arc<runner::docker::DockerBackend>, images_dir: PathBuf) {
    let system_nodes = backend.config().system_nodes;
    tracing::info!(
        "system nodes: {system_nodes:?}; host: {}",
        backend.host_support().await
    );
    let wanted =
        |tag: &str| tag != scenarios::killercoda::DOCKER_NODE_IMAGE || system_nodes.allowed();
    crate::images::build_built_in(backend.images(), &images_dir, wanted, log_build).await;
}

fn log_build(outcome: Result<String, String>) {
    match outcome {
        Ok(ready) => tracing::info!("{ready}"),
        Err(failed) => tracing::warn!("{failed}"),
    }
}

/// Serves `listener` until `shutdown` resolves, then closes terminals and streams,
/// waits for requests in flight, and keeps or destroys environments as configured.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let removed = state.sessions.adopt().await?;
    if !removed.is_empty() {
        tracing::info!(count = removed.len(), "removed orphaned environments");
    }
    state.sessions.refill_pool();
    tokio::spawn(tick(state.clone()));
    tokio::spawn(state.sessions.clone().watch_engine(state.shutdown.clone()));
    tokio::spawn(
        state
            .recorder
            .clone()
            .sweep_periodically(state.shutdown.clone()),
    );

    let app = api::router(state.clone())
        .fallback_service(web_ui())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::host_mode,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let stopping = state.shutdown.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down");
        stopping.cancel();
    };
    match state.config.tls.clone() {
        None => {
            // The client's address is the join code's rate-limit key.
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            // Without TCP_NODELAY a small answer (a terminal's keystroke echo, a web
            // port's small response) can wait for the peer's delayed ACK, 40 ms.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
                .context("serving HTTP")?;
        }
        Some(tls) => {
            let tls = rustls_config(&tls, &state.config).await?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                signal.await;
                stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, tls)
                .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await
                .context("serving HTTPS")?;
        }
    }
    state
        .sessions
        .shutdown(state.config.on_shutdown == OnShutdown::Destroy)
        .await;
    // The terminals are closed: their recordings' last events are being written.
    state.recorder.shutdown().await;
    Ok(())
}

/// Where the embedded web UI is served (every path the API does not claim).
fn web_ui() -> Router {
    assets::router()
}

async fn tick(state: AppState) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warmup = tokio::time::interval(CLASS_WARMUP_TICK);
    warmup.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = interval.tick() => state.sessions.tick().await,
            _ = warmup.tick() => warm_up_classes(&state).await,
        }
    }
}

/// How often the warm pool is sized for the classes about to start.
const CLASS_WARMUP_TICK: Duration = Duration::from_secs(5);

/// Sizes the warm pool for the classes in their warm-up (see `classes::warmup`).
async fn warm_up_classes(state: &AppState) {
    let sessions = &state.sessions;
    let started = |class: &str| {
        let live = sessions.of_class(class).into_iter();
        live.filter(|s| s.status().is_live()).count()
    };
    match state
        .classes
        .warm_reservations(sessions.now(), state.config.limits.class_warmup, started)
    {
        Ok(reserved) => sessions.reserve_pool(reserved).await,
        Err(e) => tracing::warn!(error = %e, "reading the classes for their warm-up"),
    }
}

async fn rustls_config(
    tls: &Tls,
    config: &Config,
) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    // Both rcgen and the server use ring; installing it is idempotent enough for us.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match tls {
        Tls::Files { cert, key } => axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
            .await
            .context("loading the TLS certificate and key"),
        Tls::SelfSigned => {
            let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            names.push(config.listen.ip().to_string());
            let certified = rcgen::generate_simple_self_signed(names)
                .context("generating a self-signed certificate")?;
            axum_server::tls_rustls::RustlsConfig::from_pem(
                certified.cert.pem().into_bytes(),
                certified.signing_key.serialize_pem().into_bytes(),
            )
            .await
            .context("using the self-signed certificate")
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// SIGHUP reloads the content directory, so authors see their edits at once.
#[cfg(unix)]
async fn reload_on_sighup(mut hup: tokio::signal::unix::Signal, state: AppState) {
    while hup.recv().await.is_some() {
        if let Err(e) = state.reload_content().await {
            tracing::error!(error = %format!("{e:#}"), "content reload failed; keeping the old content");
        }
    }
}
