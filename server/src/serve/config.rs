//! Configuration of `playlab serve`: flags, environment variables and a TOML file.
//!
//! Parsing and validation are two steps, as in ripgrep: [`Settings`] is what the
//! operator wrote (every field optional, one struct for flags, `PLAYLAB_*` variables and
//! the TOML file, so the three can never drift apart), and [`Config`] is what the server
//! runs with (defaults applied, values checked). Precedence: flag, then environment
//! variable, then the file, then the default: [`Settings::load`] reads the file first
//! and lets clap write over it whatever the command line or the environment gave.
//!
//! The settings `test` and `lint` take too (node policy, image table) are declared in
//! [`crate::settings`] and flattened in here.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{ArgMatches, FromArgMatches as _};
use runner::docker::SwarmOptions;
use scenarios::{ImageMap, Lesson};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};

use crate::serve::public_url::PublicUrl;
use crate::serve::recordings::{RecordingConfig, RecordingSettings};
use crate::settings::{BackendKind, BackendSettings, ImageSettings, NodePolicy, NodeSettings};

/// `playlab serve` flags; every one can also be set as `PLAYLAB_<NAME>` or in the
/// `--config` TOML file (same names, with `_` for `-`).
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
pub struct Settings {
    /// A TOML file with any of these settings.
    #[arg(long, env = "PLAYLAB_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PLAYLAB_LISTEN")]
    pub listen: Option<String>,
    /// The content directory: one folder per lesson [default: content].
    #[arg(long, env = "PLAYLAB_CONTENT")]
    pub content: Option<PathBuf>,
    // The groups `test` and `lint` share are read from the file on their own (see
    // `Settings::from_toml`), hence `serde(skip)` here.
    #[command(flatten)]
    #[serde(skip)]
    pub images: ImageSettings,
    /// Where the database, keys and the admin token live [default: ./data].
    #[arg(long, env = "PLAYLAB_DATA")]
    pub data: Option<PathBuf>,
    /// The admin token for the dashboard and admin API [default: generated at first
    /// start and kept in the data directory].
    #[arg(long, env = "PLAYLAB_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Who may use the server: `open` (anyone who reaches it) or `code` (learners
    /// enter the join code first) [default: open].
    #[arg(long, env = "PLAYLAB_AUTH", value_enum)]
    pub auth: Option<AuthMode>,
    /// The join code learners enter when `--auth code`.
    #[arg(long, env = "PLAYLAB_JOIN_CODE")]
    pub join_code: Option<String>,
    #[command(flatten)]
    #[serde(skip)]
    pub backend: BackendSettings,
    /// Sessions that may be live at once [default: 50].
    #[arg(long, env = "PLAYLAB_MAX_SESSIONS")]
    pub max_sessions: Option<usize>,
    /// How long a session lives unless its lesson says otherwise, e.g. `60m`
    /// [default: 60m].
    #[arg(long, env = "PLAYLAB_SESSION_TTL")]
    pub session_ttl: Option<String>,
    /// A session nobody has used (no terminal input, no API call) for this long ends
    /// [default: 30m].
    #[arg(long, env = "PLAYLAB_IDLE_TIMEOUT")]
    pub idle_timeout: Option<String>,
    /// How long before expiry learners are warned [default: 5m].
    #[arg(long, env = "PLAYLAB_EXPIRY_WARNING")]
    pub expiry_warning: Option<String>,
    /// How much one extension adds [default: 30m].
    #[arg(long, env = "PLAYLAB_EXTEND_BY")]
    pub extend_by: Option<String>,
    /// Ready environments kept per lesson so a start takes milliseconds [default: 0].
    #[arg(long, env = "PLAYLAB_WARM_POOL")]
    pub warm_pool: Option<usize>,
    /// How long a terminal outlives its last WebSocket [default: 5m].
    #[arg(long, env = "PLAYLAB_TERMINAL_GRACE")]
    pub terminal_grace: Option<String>,
    /// After the last step passes, the session ends within this long (sooner if its
    /// time runs out first); the learner sees the countdown and may still extend
    /// [default: 10m].
    #[arg(long, env = "PLAYLAB_FINISH_GRACE")]
    pub finish_grace: Option<String>,
    /// A class member whose step has not moved for this long is flagged as stuck on the
    /// roster [default: 10m].
    #[arg(long, env = "PLAYLAB_STUCK_AFTER")]
    pub stuck_after: Option<String>,
    /// Class join attempts one client address may make per minute, against guessing
    /// codes [default: 30].
    #[arg(long, env = "PLAYLAB_JOIN_ATTEMPTS")]
    pub join_attempts: Option<u32>,
    /// A class with a start time has environments of its first lesson started this
    /// long before it (as many as its capacity, or its members), kept until as long
    /// after its start [default: 10m].
    #[arg(long, env = "PLAYLAB_CLASS_WARMUP")]
    pub class_warmup: Option<String>,
    /// What becomes of running environments when the server stops: `keep` (a restart
    /// re-adopts them) or `destroy` [default: keep].
    #[arg(long, env = "PLAYLAB_ON_SHUTDOWN", value_enum)]
    pub on_shutdown: Option<OnShutdown>,
    /// HTTPS: `self-signed` generates a certificate at start; else give `--tls-cert`
    /// and `--tls-key`.
    #[arg(long, env = "PLAYLAB_TLS", value_enum)]
    pub tls: Option<TlsSource>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "PLAYLAB_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "PLAYLAB_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Web ports in host mode too: `PORT-NODE-SESSION.DOMAIN` (which must resolve to
    /// this server, e.g. a wildcard DNS record; `localhost` needs none) serves a port
    /// of a node at `/`, for apps that cannot live under a path [default: path mode
    /// only].
    #[arg(long, env = "PLAYLAB_TRAFFIC_DOMAIN")]
    pub traffic_domain: Option<String>,
    /// The origin learners reach this server at, `http(s)://HOST[:PORT]`: where the web
    /// port links in scripts' output and the nodes' `/etc/killercoda/host` point
    /// [default: `http://localhost:PORT` when listening on loopback or every address,
    /// else `http://ADDRESS:PORT`; `https` with TLS].
    #[arg(long, env = "PLAYLAB_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The largest request body a web port passes on to a node, e.g. `100Mi`; a
    /// bigger upload is cut off and answered 413 [default: 1Gi].
    #[arg(long, env = "PLAYLAB_PORT_UPLOAD_LIMIT")]
    pub port_upload_limit: Option<String>,
    #[command(flatten)]
    #[serde(skip)]
    pub nodes: NodeSettings,
    #[command(flatten)]
    #[serde(skip)]
    pub recording: RecordingSettings,
}

impl Settings {
    /// The settings of a parsed `playlab serve` command line: the `--config` file's, if
    /// any, overwritten by every flag and variable that was given.
    pub fn load(matches: &ArgMatches) -> anyhow::Result<Settings> {
        let flags = Settings::from_arg_matches(matches)?;
        let mut settings = match &flags.config {
            Some(path) => Settings::read_file(path)?,
            None => Settings::default(),
        };
        // Writes only the arguments clap found (flag or variable); nothing has a clap
        // default, so a file's value is never overwritten by one.
        settings.update_from_arg_matches(matches)?;
        Ok(settings)
    }

    fn read_file(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Settings::from_toml(&text)
            .with_context(|| format!("parsing config file {}", path.display()))
    }

    /// The settings a TOML file gives. The shared groups are read from the same table
    /// by their own structs: serde's `flatten` would buffer the values and cost every
    /// error its line and column. So the keys are checked here against every setting's
    /// name, instead of by `deny_unknown_fields`.
    pub fn from_toml(text: &str) -> Result<Settings, toml::de::Error> {
        KnownKeys(&Settings::file_keys()).deserialize(toml::de::Deserializer::parse(text)?)?;
        let settings: Settings = toml::from_str(text)?;
        Ok(Settings {
            images: toml::from_str(text)?,
            backend: toml::from_str(text)?,
            nodes: toml::from_str(text)?,
            recording: toml::from_str(text)?,
            ..settings
        })
    }

    /// The keys a file may hold: the flags' names (clap's ids are the field names, as
    /// are serde's), except `config` (one file does not name another).
    fn file_keys() -> Vec<String> {
        use clap::Args as _;
        Settings::augment_args(clap::Command::new("serve"))
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .filter(|id| id != "config")
            .collect()
    }
}

/// Accepts a table whose keys are all in the list; an unknown key is an error at its
/// own line and column (`toml` places an error raised while reading a key there).
#[derive(Clone, Copy)]
struct KnownKeys<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for KnownKeys<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, table: D) -> Result<(), D::Error> {
        table.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KnownKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of settings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut table: A) -> Result<(), A::Error> {
        while table.next_key_seed(KnownKey(self.0))?.is_some() {
            table.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// One key of [`KnownKeys`].
struct KnownKey<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for KnownKey<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, key: D) -> Result<(), D::Error> {
        let key = String::deserialize(key)?;
        if self.0.contains(&key) {
            return Ok(());
        }
        let known: Vec<_> = self.0.iter().map(|k| format!("`{k}`")).collect();
        Err(D::Error::custom(format!(
            "unknown setting `{key}`, expected one of {}",
            known.join(", ")
        )))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// Anyone who reaches the server is a learner.
    Open,
    /// Learners enter the join code (`--join-code`) once; their identity cookie then
    /// carries it.
    Code,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnShutdown {
    /// Leave them running; the next start re-adopts them.
    Keep,
    /// Remove them.
    Destroy,
}

/// `--tls` as written; [`Tls`] is the validated choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsSource {
    /// Generate a certificate for this server at start.
    SelfSigned,
    /// The `--tls-cert` and `--tls-key` files (what giving them already says; accepted
    /// so older configurations that spell it out keep working).
    #[value(hide = true)]
    Files,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    SelfSigned,
    Files { cert: PathBuf, key: PathBuf },
}

/// Why a lesson cannot start on this server: a code that clients translate, and the
/// sentence (English) for those that do not know the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub code: &'static str,
    pub message: String,
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub content: PathBuf,
    /// How Killercoda scenarios in the content become environments.
    pub images: ImageMap,
    pub data: PathBuf,
    /// `None` until [`super::state`] loads or generates it from the data directory.
    pub admin_token: Option<String>,
    pub auth: AuthMode,
    pub join_code: Option<String>,
    pub backend: BackendKind,
    /// The pool's settings, when `backend` is Swarm.
    pub swarm: SwarmOptions,
    pub limits: Limits,
    pub on_shutdown: OnShutdown,
    pub tls: Option<Tls>,
    /// The domain of web ports' host mode, lowercase, without a trailing dot.
    pub traffic_domain: Option<String>,
    /// `--public-url`; `None` until `serve` knows the address it listens on, which is
    /// the default.
    pub public_url: Option<PublicUrl>,
    pub nodes: NodePolicy,
    pub recording: RecordingConfig,
}

/// The numbers that shape sessions and terminals.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_sessions: usize,
    pub session_ttl: Duration,
    pub idle_timeout: Duration,
    pub expiry_warning: Duration,
    pub extend_by: Duration,
    pub warm_pool: usize,
    pub terminal_grace: Duration,
    /// A completed session's expiry is brought forward to at most this long after the
    /// last step passed, so a finished lesson frees its environment.
    pub finish_grace: Duration,
    /// No progress for this long flags a class member as stuck.
    pub stuck_after: Duration,
    /// Class join attempts per client address per minute (also the burst).
    pub join_attempts: u32,
    /// How long before (and after) a class's start its environments are pre-started.
    pub class_warmup: Duration,
    /// The most request body bytes a web port passes on to a node.
    pub port_upload_limit: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sessions: 50,
            session_ttl: Duration::from_secs(60 * 60),
            idle_timeout: Duration::from_secs(30 * 60),
            expiry_warning: Duration::from_secs(5 * 60),
            extend_by: Duration::from_secs(30 * 60),
            warm_pool: 0,
            terminal_grace: Duration::from_secs(5 * 60),
            finish_grace: Duration::from_secs(10 * 60),
            stuck_after: Duration::from_secs(10 * 60),
            join_attempts: 30,
            class_warmup: Duration::from_secs(10 * 60),
            port_upload_limit: 1 << 30,
        }
    }
}

impl Limits {
    /// Applies defaults and checks every value; errors name the setting.
    fn validate(s: &Settings) -> anyhow::Result<Limits> {
        let mut limits = Limits::default();
        if let Some(n) = s.max_sessions {
            if n == 0 {
                bail!("--max-sessions must be at least 1");
            }
            limits.max_sessions = n;
        }
        let durations = [
            ("--session-ttl", &s.session_ttl, &mut limits.session_ttl),
            ("--idle-timeout", &s.idle_timeout, &mut limits.idle_timeout),
            (
                "--expiry-warning",
                &s.expiry_warning,
                &mut limits.expiry_warning,
            ),
            ("--extend-by", &s.extend_by, &mut limits.extend_by),
            (
                "--terminal-grace",
                &s.terminal_grace,
                &mut limits.terminal_grace,
            ),
            ("--finish-grace", &s.finish_grace, &mut limits.finish_grace),
            ("--stuck-after", &s.stuck_after, &mut limits.stuck_after),
            ("--class-warmup", &s.class_warmup, &mut limits.class_warmup),
        ];
        for (flag, value, slot) in durations {
            if let Some(text) = value {
                *slot = parse_duration(flag, text)?;
            }
        }
        if let Some(n) = s.warm_pool {
            limits.warm_pool = n;
        }
        if let Some(n) = s.join_attempts {
            if n == 0 {
                bail!("--join-attempts must be at least 1");
            }
            limits.join_attempts = n;
        }
        if let Some(text) = &s.port_upload_limit {
            limits.port_upload_limit = scenarios::units::parse_memory(text).map_err(|e| {
                anyhow::anyhow!("--port-upload-limit {text:?}: {e}; write sizes like `100Mi`")
            })?;
        }
        Ok(limits)
    }
}

impl Tls {
    /// `--tls`, `--tls-cert` and `--tls-key` together: HTTPS or not, and how.
    fn validate(s: &Settings) -> anyhow::Result<Option<Tls>> {
        use TlsSource::{Files, SelfSigned};
        let tls = match (s.tls, s.tls_cert.clone(), s.tls_key.clone()) {
            (None, None, None) => None,
            (Some(SelfSigned), None, None) => Some(Tls::SelfSigned),
            (Some(SelfSigned), _, _) => {
                bail!("--tls self-signed generates its own certificate; drop --tls-cert/--tls-key")
            }
            (None | Some(Files), Some(cert), Some(key)) => Some(Tls::Files { cert, key }),
            (None | Some(Files), _, _) => bail!("HTTPS needs both --tls-cert and --tls-key"),
        };
        if let Some(Tls::Files { cert, key }) = &tls {
            for path in [cert, key] {
                ensure_file(path)?;
            }
        }
        Ok(tls)
    }
}

impl Config {
    /// Why `lesson` cannot start on this server as configured, if it cannot (a system
    /// node where they are not allowed, a node name no backend accepts): the runner's
    /// own checks before a start, asked in advance so that the catalog marks the
    /// lesson and the log says it at start.
    pub fn cannot_start(&self, lesson: &Lesson) -> Option<Unavailable> {
        // The local backend has no privilege to withhold (its nodes are shells here).
        let system_nodes = self.backend == BackendKind::Local || self.nodes.system_nodes.allowed();
        runner::environment::Plan::new(lesson, system_nodes)
            .err()
            .map(|e| Unavailable {
                code: match e {
                    runner::RunnerError::SystemNodeNotAllowed { .. } => "system_nodes_not_allowed",
                    _ => "invalid_environment",
                },
                message: e.to_string(),
            })
    }

    /// Defaults that work on a laptop, for the given content and data directories.
    pub fn new(content: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Config {
        let data = data.into();
        Config {
            recording: RecordingConfig::new(&data),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            content: content.into(),
            images: ImageMap::builtin(false),
            data,
            admin_token: None,
            auth: AuthMode::Open,
            join_code: None,
            backend: BackendKind::Docker,
            swarm: SwarmOptions::default(),
            limits: Limits::default(),
            on_shutdown: OnShutdown::Keep,
            tls: None,
            traffic_domain: None,
            public_url: None,
            nodes: NodePolicy::default(),
        }
    }

    /// Applies defaults and checks every value; errors name the setting.
    pub fn validate(s: Settings) -> anyhow::Result<Config> {
        let nodes = NodePolicy::validate(s.nodes.clone())?;
        let mut config = Config::new(
            s.content
                .clone()
                .unwrap_or_else(|| PathBuf::from("content")),
            s.data.clone().unwrap_or_else(|| PathBuf::from("data")),
        );
        config.images = s.images.load(nodes.system_nodes.allowed())?;
        if let Some(listen) = &s.listen {
            config.listen = listen
                .parse()
                .with_context(|| format!("--listen {listen:?}: expected ADDRESS:PORT"))?;
        }
        config.admin_token = s.admin_token.clone().filter(|t| !t.is_empty());
        config.auth = s.auth.unwrap_or(AuthMode::Open);
        config.join_code = s.join_code.clone().filter(|c| !c.is_empty());
        if config.auth == AuthMode::Code && config.join_code.is_none() {
            bail!("--auth code needs --join-code (the code learners enter)");
        }
        config.backend = s.backend.kind();
        config.swarm = s.backend.swarm_options()?;
        if config.backend == BackendKind::Local && !config.listen.ip().is_loopback() {
            bail!(
                "--backend local gives learners a shell on this machine with no isolation; \
                 it is only allowed with a loopback --listen address, not {}",
                config.listen
            );
        }
        config.limits = Limits::validate(&s)?;
        config.on_shutdown = s.on_shutdown.unwrap_or(OnShutdown::Keep);
        config.tls = Tls::validate(&s)?;
        config.traffic_domain = s
            .traffic_domain
            .as_deref()
            .map(traffic_domain)
            .transpose()?;
        config.public_url = s.public_url.as_deref().map(PublicUrl::parse).transpose()?;
        config.nodes = nodes;
        config.recording = RecordingConfig::validate(&s.recording, &config.data)?;
        Ok(config)
    }
}

/// A domain of DNS labels (`labs.example.org`, `localhost`), as host mode compares it.
fn traffic_domain(text: &str) -> anyhow::Result<String> {
    let domain = text.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || !domain.split('.').all(scenarios::units::is_dns_label) {
        bail!("--traffic-domain {text:?}: expected a domain such as `labs.example.org`");
    }
    Ok(domain)
}

fn parse_duration(flag: &str, text: &str) -> anyhow::Result<Duration> {
    let d = humantime::parse_duration(text)
        .with_context(|| format!("{flag} {text:?}: expected a duration such as `90s` or `60m`"))?;
    if d.is_zero() {
        bail!("{flag} must be longer than zero");
    }
    Ok(d)
}

fn ensure_file(path: &Path) -> anyhow::Result<()> {
    if !path.is_file() {
        bail!("{} does not exist or is not a file", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, Parser};
    use runner::docker::SystemNodes;

    fn settings(toml_text: &str) -> Settings {
        Settings::from_toml(toml_text).unwrap()
    }

    /// A file's text through parsing and validation, its error as the operator sees it.
    fn load(toml_text: &str) -> Result<Config, String> {
        Settings::from_toml(toml_text)
            .map_err(anyhow::Error::from)
            .and_then(Config::validate)
            .map_err(|e| format!("{e:#}"))
    }

    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        settings: Settings,
    }

    /// `playlab serve ARGS` with `--config` pointing at a file holding `toml_text`.
    fn serve(command: clap::Command, args: &[&str], toml_text: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("playlab.toml");
        std::fs::write(&file, toml_text).unwrap();
        let config = ["--config", file.to_str().unwrap()];
        let matches = command
            .try_get_matches_from([&["serve"], &config[..], args].concat())
            .unwrap();
        Settings::load(&matches).unwrap()
    }

    #[test]
    fn defaults_work_on_a_laptop() {
        let c = Config::validate(Settings::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.content, PathBuf::from("content"));
        assert_eq!(c.data, PathBuf::from("data"));
        assert_eq!(c.backend, BackendKind::Docker);
        assert_eq!(c.limits.session_ttl, Duration::from_secs(3600));
        assert_eq!(c.limits.warm_pool, 0);
        assert_eq!(c.limits.finish_grace, Duration::from_secs(600));
        assert_eq!(c.auth, AuthMode::Open);
        assert_eq!(c.on_shutdown, OnShutdown::Keep);
        assert_eq!(c.tls, None);
        assert_eq!(c.limits.port_upload_limit, 1 << 30);
    }

    #[test]
    fn flags_win_over_the_file() {
        let s = serve(
            Serve::command(),
            &["--listen", "127.0.0.1:9000", "--backend", "local"],
            "listen = \"0.0.0.0:1\"\nmax_sessions = 7\nsession_ttl = \"90s\"\n\
             finish_grace = \"2m\"\nport_upload_limit = \"8Mi\"\nbackend = \"docker\"\nauth = \"code\"\njoin_code = \"J\"",
        );
        let c = Config::validate(s).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.backend, BackendKind::Local);
        assert_eq!(c.limits.max_sessions, 7);
        assert_eq!(c.limits.session_ttl, Duration::from_secs(90));
        assert_eq!(c.limits.finish_grace, Duration::from_secs(120));
        assert_eq!(c.limits.port_upload_limit, 8 << 20);
        assert_eq!(c.auth, AuthMode::Code);
        assert_eq!(c.join_code.as_deref(), Some("J"));
    }

    /// A `PLAYLAB_*` variable sits between the flag and the file. The variable is
    /// renamed for this test so no other test (or the caller's shell) sees it.
    #[test]
    fn variables_win_over_the_file_and_lose_to_flags() {
        const VAR: &str = "PLAYLAB_CONFIG_TEST_ONLY_MAX_SESSIONS";
        // SAFETY: no other code reads or writes this variable.
        unsafe { std::env::set_var(VAR, "9") };
        let command = || Serve::command().mut_arg("max_sessions", |a| a.env(VAR));
        let from_env = serve(command(), &[], "max_sessions = 7");
        let from_flag = serve(command(), &["--max-sessions", "8"], "max_sessions = 7");
        // SAFETY: as above.
        unsafe { std::env::remove_var(VAR) };
        let from_file = serve(command(), &[], "max_sessions = 7");
        assert_eq!(from_env.max_sessions, Some(9));
        assert_eq!(from_flag.max_sessions, Some(8));
        assert_eq!(from_file.max_sessions, Some(7));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases = [
            ("listen = \"nowhere\"", "--listen"),
            (
                "auth = \"maybe\"",
                "auth = \"maybe\"\n  |        ^^^^^^^\nunknown variant `maybe`, expected `open` or `code`",
            ),
            ("auth = \"code\"", "--join-code"),
            (
                "backend = \"k8s\"",
                "backend = \"k8s\"\n  |           ^^^^^\nunknown variant `k8s`, expected one of `docker`, `local`, `swarm`",
            ),
            (
                "on_shutdown = \"later\"",
                "on_shutdown = \"later\"\n  |               ^^^^^^^\nunknown variant `later`, expected `keep` or `destroy`",
            ),
            ("tls = \"yes\"", "tls = \"yes\""),
            ("session_ttl = \"soon\"", "--session-ttl"),
            ("finish_grace = \"0s\"", "--finish-grace"),
            ("max_sessions = 0", "--max-sessions"),
            ("port_upload_limit = \"0\"", "--port-upload-limit"),
            ("port_upload_limit = \"big\"", "--port-upload-limit"),
            ("tls = \"self-signed\"\ntls_cert = \"x\"", "--tls-cert"),
            ("tls_cert = \"x\"", "--tls-key"),
            ("tls = \"files\"", "--tls-key"),
            ("backend = \"local\"\nlisten = \"0.0.0.0:8080\"", "loopback"),
            ("swarm_registry = \"10.0.0.5:5000\"", "need --backend swarm"),
            (
                "backend = \"swarm\"\nswarm_registry = \"http://10.0.0.5\"",
                "expected HOST:PORT",
            ),
            (
                "max_node_memory = \"2GB\"",
                "--max-node-memory \"2GB\": `2GB` is not a memory size (unknown unit `GB`)",
            ),
            ("max_node_memory = \"lots\"", "--max-node-memory"),
            ("max_node_memory = \"0Mi\"", "--max-node-memory"),
            ("max_node_memory = \"1Mi\"", "at least 6Mi"),
            (
                "max_node_cpus = 0",
                "--max-node-cpus 0: expected a number of CPUs",
            ),
            ("max_node_cpus = -2.5", "--max-node-cpus"),
            ("max_node_cpus = nan", "--max-node-cpus"),
            ("max_node_cpus = 0.001", "at least 0.01"),
            ("pids_limit = 0", "--pids-limit 0: must be at least 1"),
            ("pids_limit = -1", "--pids-limit"),
            (
                "images = \"/nonexistent/images.json\"",
                "--images /nonexistent/images.json",
            ),
        ];
        for (text, expected) in cases {
            let err = load(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    /// On the command line clap checks the choices; its message names the flag and
    /// lists what it takes.
    #[test]
    fn bad_choices_on_the_command_line_name_the_flag() {
        let cases = [
            (
                ["--auth", "maybe"],
                "'--auth <AUTH>'",
                "[possible values: open, code]",
            ),
            (
                ["--backend", "k8s"],
                "'--backend <BACKEND>'",
                "docker, local",
            ),
            (
                ["--on-shutdown", "x"],
                "'--on-shutdown <ON_SHUTDOWN>'",
                "keep, destroy",
            ),
            (
                ["--tls", "yes"],
                "'--tls <TLS>'",
                "[possible values: self-signed]",
            ),
        ];
        for (args, flag, values) in cases {
            let err = Serve::try_parse_from([&["serve"], &args[..]].concat())
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains(flag) && err.contains(values),
                "{args:?}: {err}"
            );
        }
        let tls = Serve::try_parse_from(["serve", "--tls", "self-signed"]).unwrap();
        assert_eq!(tls.settings.tls, Some(TlsSource::SelfSigned));
    }

    #[test]
    fn unknown_file_keys_are_rejected_where_they_are() {
        let err = Settings::from_toml("listen = \"127.0.0.1:1\"\nlistn = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2, column 1"), "{err}");
        assert!(
            err.contains("unknown setting `listn`, expected one of `listen`"),
            "{err}"
        );
        // The shared groups' keys are settings too; `config` is not one.
        assert!(
            err.contains("`max_node_memory`") && err.contains("`images`"),
            "{err}"
        );
        assert!(!err.contains("`config`"), "{err}");
        assert!(Settings::from_toml("config = \"other.toml\"").is_err());
        assert!(Settings::from_toml("[nodes]\npids_limit = 5").is_err());
    }

    /// The node settings and the image table are read by their own structs, yet a bad
    /// value keeps the line and column of where the operator wrote it.
    #[test]
    fn bad_values_in_the_file_keep_their_line() {
        let cases = [
            (
                "listen = \"127.0.0.1:1\"\n\npids_limit = \"many\"\n",
                "line 3, column 14",
            ),
            (
                "auth = \"open\"\nallow_system_nodes = \"yes\"",
                "line 2, column 22",
            ),
            ("max_node_cpus = \"two\"", "line 1, column 17"),
            ("warm_pool = 1\nimages = 5", "line 2, column 10"),
            ("pids_limit = 5\nwarm_pool = -1", "line 2, column 13"),
        ];
        for (text, place) in cases {
            let err = Settings::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(place), "{text}: {err}");
        }
    }

    /// Every key the file may hold is read by one of the structs: a value no setting
    /// accepts is an error for each of them, never silently dropped.
    #[test]
    fn every_file_key_is_read() {
        let keys = Settings::file_keys();
        assert_eq!(keys.len(), 39, "{keys:?}");
        for key in keys {
            assert!(
                Settings::from_toml(&format!("{key} = [[1]]")).is_err(),
                "{key}"
            );
        }
    }

    #[test]
    fn node_policy_from_the_file() {
        let defaults = NodePolicy::default();
        assert_eq!(
            defaults,
            Config::validate(Settings::default()).unwrap().nodes
        );
        assert_eq!(defaults.max_memory_bytes, 2 << 30);
        assert_eq!(
            defaults.system_nodes,
            SystemNodes::Refused,
            "system nodes are opt-in"
        );
        let cases = [
            (
                "max_node_memory = \"512Mi\"",
                NodePolicy {
                    max_memory_bytes: 512 << 20,
                    ..NodePolicy::default()
                },
            ),
            (
                "max_node_memory = \"3G\"\nmax_node_cpus = 1.5",
                NodePolicy {
                    max_memory_bytes: 3_000_000_000,
                    max_cpus: 1.5,
                    ..NodePolicy::default()
                },
            ),
            // TOML integers are fine where a number of CPUs is expected.
            (
                "max_node_cpus = 1",
                NodePolicy {
                    max_cpus: 1.0,
                    ..NodePolicy::default()
                },
            ),
            (
                "pids_limit = 200\nallow_system_nodes = true",
                NodePolicy {
                    pids_limit: 200,
                    system_nodes: SystemNodes::Profile,
                    ..NodePolicy::default()
                },
            ),
            ("allow_system_nodes = false", NodePolicy::default()),
        ];
        for (text, expected) in cases {
            assert_eq!(
                Config::validate(settings(text)).unwrap().nodes,
                expected,
                "{text}"
            );
        }
        assert!(Settings::from_toml("allow_system_nodes = \"yes\"").is_err());
    }

    #[test]
    fn node_flags_on_the_command_line() {
        // A flag wins over the file.
        let file = "allow_system_nodes = true\npids_limit = 5";
        let nodes = |args: &[&str]| {
            Config::validate(serve(Serve::command(), args, file))
                .unwrap()
                .nodes
        };
        let from_file = nodes(&[]);
        assert_eq!(from_file.system_nodes, SystemNodes::Profile);
        assert_eq!(from_file.pids_limit, 5);
        let flags = nodes(&[
            "--allow-privileged=false",
            "--pids-limit",
            "300",
            "--max-node-memory",
            "1Gi",
            "--max-node-cpus",
            "0.25",
        ]);
        assert_eq!(
            flags,
            NodePolicy {
                max_memory_bytes: 1 << 30,
                max_cpus: 0.25,
                pids_limit: 300,
                system_nodes: SystemNodes::Refused,
            }
        );
        let images = serve(
            Serve::command(),
            &["--images", "b.json"],
            "images = \"a.json\"",
        );
        assert_eq!(images.images.images, Some(PathBuf::from("b.json")));
    }

    /// The recording group is read from the file by its own struct, and the command
    /// line wins over it, like every other setting.
    #[test]
    fn recording_settings_from_the_file_and_flags() {
        let file = "data = \"/d\"\nrecording_retention = \"1d\"\nrecording_max_bytes = \"1Mi\"";
        let c = Config::validate(serve(Serve::command(), &[], file)).unwrap();
        assert_eq!(c.recording.dir, PathBuf::from("/d/recordings"));
        assert_eq!(c.recording.retention, Duration::from_secs(86_400));
        assert_eq!(c.recording.max_bytes, 1 << 20);
        assert!(c.recording.enabled);
        let flags = ["--recording", "off", "--recordings-dir", "/casts"];
        let c = Config::validate(serve(Serve::command(), &flags, file)).unwrap();
        assert!(!c.recording.enabled);
        assert_eq!(c.recording.dir, PathBuf::from("/casts"));
        let err = load("recording_max_bytes = \"lots\"").unwrap_err();
        assert!(err.contains("--recording-max-bytes"), "{err}");
        let err = Settings::from_toml("recording = \"maybe\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1, column 13"), "{err}");
    }

    /// The choices that need a word of explanation get it in `--help`, at the flag
    /// (also in `-h`) and at each value.
    #[test]
    fn choices_are_explained_in_the_help() {
        let help = Serve::command().render_long_help().to_string();
        for explained in [
            "learners enter the join code first",
            "- code: Learners enter the join code",
            "no isolation; `serve` allows it with a loopback `--listen` address only",
            "- local:  A shell on this machine for each node",
            "a restart re-adopts them",
            "- keep:    Leave them running; the next start re-adopts them",
        ] {
            assert!(help.contains(explained), "{explained:?} in:\n{help}");
        }
    }

    /// `playlab serve --help` documents every setting, the shared ones included.
    #[test]
    fn every_setting_has_help() {
        let command = Serve::command();
        let mut count = 0;
        for arg in command.get_arguments().filter(|a| a.get_long().is_some()) {
            assert!(arg.get_help().is_some(), "--{} has no help", arg.get_id());
            assert!(
                arg.get_env().is_some(),
                "--{} has no variable",
                arg.get_id()
            );
            count += 1;
        }
        assert_eq!(count, 40);
    }

    #[test]
    fn the_public_url_comes_from_the_file_or_the_flag() {
        let c = Config::validate(settings("public_url = \"https://labs.example.org/\"")).unwrap();
        assert_eq!(c.public_url.unwrap().origin(), "https://labs.example.org");
        assert!(Config::validate(settings("")).unwrap().public_url.is_none());
        let err = Config::validate(settings("public_url = \"labs.example.org\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--public-url"), "{err}");
    }

    #[test]
    fn a_traffic_domain_is_dns_labels() {
        assert_eq!(
            traffic_domain("Labs.Example.org.").unwrap(),
            "labs.example.org"
        );
        assert_eq!(traffic_domain("localhost").unwrap(), "localhost");
        for bad in ["", ".", "a..b", "*.example.org", "exa mple.org", "a_b.org"] {
            assert!(traffic_domain(bad).is_err(), "{bad:?}");
        }
    }
}
