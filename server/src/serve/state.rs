//! The state every request handler shares.

use std::sync::Arc;

use anyhow::Context;
use runner::Backend;
use tokio_util::sync::CancellationToken;

use super::auth::Auth;
use super::classes::ClassBook;
use super::config::Config;
use super::content::SharedCatalog;
use super::metrics::Metrics;
use super::node_connections::NodeConnections;
use super::public_url::PortUrls;
use super::recordings::Recorder;
use super::sessions::SessionManager;
use super::store::Store;
use crate::catalog::Catalog;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub catalog: Arc<SharedCatalog>,
    pub sessions: Arc<SessionManager>,
    pub classes: Arc<ClassBook>,
    pub auth: Arc<Auth>,
    pub metrics: Arc<Metrics>,
    pub recorder: Arc<Recorder>,
    /// The web ports' kept-alive connections to nodes.
    pub node_connections: Arc<NodeConnections>,
    /// Cancelled when the server stops; long-lived streams (terminals, events) end.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Opens the data directory (database, keys, admin token) and builds the state.
    pub fn open(
        config: Config,
        backend: Arc<dyn Backend>,
        catalog: Catalog,
    ) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.data)
            .with_context(|| format!("creating the data directory {}", config.data.display()))?;
        let store = Arc::new(Store::open(&config.data.join("playlab.db"))?);
        let auth = Auth::open(
            &config.data,
            config.admin_token.clone(),
            config.auth,
            config.join_code.clone(),
            config.tls.is_some(),
        )?;
        let metrics = Arc::new(Metrics::default());
        let catalog = Arc::new(SharedCatalog::new(catalog));
        let classes = ClassBook::new(store.clone(), catalog.clone(), config.limits.join_attempts);
        let recorder = Recorder::new(config.recording.clone(), metrics.clone());
        let port_urls = config.public_url.clone().map(|public| PortUrls {
            public,
            traffic_domain: config.traffic_domain.clone(),
        });
        let sessions = SessionManager::new(
            backend,
            store,
            catalog.clone(),
            config.limits.clone(),
            metrics.clone(),
            recorder.clone(),
            port_urls,
        )?;
        let node_connections = Arc::new(NodeConnections::new(config.limits.port_upload_limit));
        Ok(AppState {
            config: Arc::new(config),
            catalog,
            sessions,
            classes: Arc::new(classes),
            auth: Arc::new(auth),
            metrics,
            recorder,
            node_connections,
            shutdown: CancellationToken::new(),
        })
    }

    /// Loads the content directory again; running sessions keep their lesson, and a
    /// lesson that no longer loads keeps its last good version (see
    /// [`Catalog::reload`]). Returns the problems found.
    pub async fn reload_content(&self) -> anyhow::Result<Vec<String>> {
        let (catalog, problems) = self
            .catalog
            .get()
            .reload(&self.config.content, &self.config.images)?;
        let count = catalog.lessons().count();
        self.catalog.replace(catalog);
        self.sessions.content_reloaded().await;
        tracing::info!(
            lessons = count,
            problems = problems.len(),
            "content reloaded"
        );
        for problem in &problems {
            tracing::warn!("{problem}");
        }
        Ok(problems)
    }
}
