//! Configuration of `playlab serve`: flags, environment variables and a TOML file.
//!
//! Parsing and validation are two steps, as in ripgrep: [`Settings`] is what the
//! operator wrote (every field optional, one struct for flags, `PLAYLAB_*` variables and
//! the TOML file, so the three can never drift apart), and [`Config`] is what the server
//! runs with (defaults applied, values checked). Precedence: flag, then environment
//! variable (both handled by clap), then the file, then the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use runner::docker::DockerConfig;
use scenarios::ImageMap;
use serde::Deserialize;

/// `playlab serve` flags; every one can also be set as `PLAYLAB_<NAME>` or in the
/// `--config` TOML file (same names, with `_` for `-`).
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// A JSON file replacing the table that maps Killercoda `backend.imageid` values to
    /// environments [default: the built-in table, see scenarios/FORMAT.md].
    #[arg(long, env = "PLAYLAB_IMAGES", value_name = "FILE")]
    pub images: Option<PathBuf>,
    /// Where the database, keys and the admin token live [default: ./data].
    #[arg(long, env = "PLAYLAB_DATA")]
    pub data: Option<PathBuf>,
    /// The admin token for the dashboard and admin API [default: generated at first
    /// start and kept in the data directory].
    #[arg(long, env = "PLAYLAB_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// `open`: anyone who reaches the server is a learner; `code`: learners enter the
    /// join code first [default: open].
    #[arg(long, env = "PLAYLAB_AUTH")]
    pub auth: Option<String>,
    /// The join code learners enter when `--auth code`.
    #[arg(long, env = "PLAYLAB_JOIN_CODE")]
    pub join_code: Option<String>,
    /// Where environments run: `docker` or `local` (no isolation; loopback only)
    /// [default: docker].
    #[arg(long, env = "PLAYLAB_BACKEND")]
    pub backend: Option<String>,
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
    /// On shutdown, `keep` environments (a restart re-adopts them) or `destroy` them
    /// [default: keep].
    #[arg(long, env = "PLAYLAB_ON_SHUTDOWN")]
    pub on_shutdown: Option<String>,
    /// HTTPS: `self-signed` generates a certificate at start; else give `--tls-cert`
    /// and `--tls-key`.
    #[arg(long, env = "PLAYLAB_TLS")]
    pub tls: Option<String>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "PLAYLAB_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "PLAYLAB_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    // The node policy: the same four as `NodeSettings` (what `playlab test` takes). Not
    // a flattened `NodeSettings`: serde's `flatten` would cost every TOML error its
    // line and column. A test keeps the two definitions identical.
    /// Most memory a node gets, e.g. `2Gi`; a lesson asking for more gets this
    /// [default: 2Gi].
    #[arg(long, env = "PLAYLAB_MAX_NODE_MEMORY")]
    pub max_node_memory: Option<String>,
    /// Most CPUs a node gets, e.g. `1.5`; a lesson asking for more gets this. Docker
    /// refuses more than the host has [default: 2].
    #[arg(long, env = "PLAYLAB_MAX_NODE_CPUS")]
    pub max_node_cpus: Option<f64>,
    /// Most processes in one node; a fork bomb stops here [default: 1024].
    #[arg(long, env = "PLAYLAB_PIDS_LIMIT", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Run nodes whose lesson asks for it (`privileged: true`, e.g. kubeadm) with
    /// `--privileged`, which gives them the host. Without it such lessons do not start
    /// [default: false].
    #[arg(
        long,
        env = "PLAYLAB_ALLOW_PRIVILEGED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_privileged: Option<bool>,
}

/// The node policy as the operator wrote it: what every node gets whatever its lesson
/// asks. `playlab test` takes these flags; `playlab serve` has the same in
/// [`Settings`] (where the TOML file can set them too).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct NodeSettings {
    /// Most memory a node gets, e.g. `2Gi`; a lesson asking for more gets this
    /// [default: 2Gi].
    #[arg(long, env = "PLAYLAB_MAX_NODE_MEMORY")]
    pub max_node_memory: Option<String>,
    /// Most CPUs a node gets, e.g. `1.5`; a lesson asking for more gets this. Docker
    /// refuses more than the host has [default: 2].
    #[arg(long, env = "PLAYLAB_MAX_NODE_CPUS")]
    pub max_node_cpus: Option<f64>,
    /// Most processes in one node; a fork bomb stops here [default: 1024].
    #[arg(long, env = "PLAYLAB_PIDS_LIMIT", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Run nodes whose lesson asks for it (`privileged: true`, e.g. kubeadm) with
    /// `--privileged`, which gives them the host. Without it such lessons do not start
    /// [default: false].
    #[arg(
        long,
        env = "PLAYLAB_ALLOW_PRIVILEGED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_privileged: Option<bool>,
}

impl Settings {
    /// Reads the `--config` file, if any, and fills every setting not given as a flag or
    /// variable from it.
    pub fn with_file(self) -> anyhow::Result<Settings> {
        let Some(path) = &self.config else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        let file: Settings = toml::from_str(&text)
            .with_context(|| format!("parsing config file {}", path.display()))?;
        Ok(self.or(file))
    }

    fn or(self, other: Settings) -> Settings {
        Settings {
            config: self.config,
            listen: self.listen.or(other.listen),
            content: self.content.or(other.content),
            images: self.images.or(other.images),
            data: self.data.or(other.data),
            admin_token: self.admin_token.or(other.admin_token),
            auth: self.auth.or(other.auth),
            join_code: self.join_code.or(other.join_code),
            backend: self.backend.or(other.backend),
            max_sessions: self.max_sessions.or(other.max_sessions),
            session_ttl: self.session_ttl.or(other.session_ttl),
            idle_timeout: self.idle_timeout.or(other.idle_timeout),
            expiry_warning: self.expiry_warning.or(other.expiry_warning),
            extend_by: self.extend_by.or(other.extend_by),
            warm_pool: self.warm_pool.or(other.warm_pool),
            terminal_grace: self.terminal_grace.or(other.terminal_grace),
            finish_grace: self.finish_grace.or(other.finish_grace),
            on_shutdown: self.on_shutdown.or(other.on_shutdown),
            tls: self.tls.or(other.tls),
            tls_cert: self.tls_cert.or(other.tls_cert),
            tls_key: self.tls_key.or(other.tls_key),
            max_node_memory: self.max_node_memory.or(other.max_node_memory),
            max_node_cpus: self.max_node_cpus.or(other.max_node_cpus),
            pids_limit: self.pids_limit.or(other.pids_limit),
            allow_privileged: self.allow_privileged.or(other.allow_privileged),
        }
    }

    /// The node policy part of these settings.
    fn node_settings(&self) -> NodeSettings {
        NodeSettings {
            max_node_memory: self.max_node_memory.clone(),
            max_node_cpus: self.max_node_cpus,
            pids_limit: self.pids_limit,
            allow_privileged: self.allow_privileged,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Open,
    /// Learners must present the join code once; their identity cookie then carries it.
    Code,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Docker,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnShutdown {
    Keep,
    Destroy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    SelfSigned,
    Files { cert: PathBuf, key: PathBuf },
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
    pub limits: Limits,
    pub on_shutdown: OnShutdown,
    pub tls: Option<Tls>,
    pub nodes: NodePolicy,
}

/// What every node gets whatever its lesson asks, validated: the operator's half of
/// [`DockerConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct NodePolicy {
    pub max_memory_bytes: u64,
    pub max_cpus: f64,
    pub pids_limit: i64,
    pub allow_privileged: bool,
}

impl Default for NodePolicy {
    /// The runner's defaults, so the two cannot disagree.
    fn default() -> Self {
        let d = DockerConfig::default();
        NodePolicy {
            max_memory_bytes: d.max_memory_bytes,
            max_cpus: d.max_cpus,
            pids_limit: d.pids_limit,
            allow_privileged: d.allow_privileged,
        }
    }
}

/// Docker's own floors (`docker run` refuses less): checked at start so a bad setting
/// is one clear error, not every session failing.
const MIN_NODE_MEMORY_BYTES: u64 = 6 * 1024 * 1024;
const MIN_NODE_CPUS: f64 = 0.01;

impl NodePolicy {
    /// Applies defaults and checks every value; errors name the flag.
    pub fn validate(s: NodeSettings) -> anyhow::Result<NodePolicy> {
        let mut policy = NodePolicy::default();
        if let Some(text) = s.max_node_memory {
            let bytes = scenarios::units::parse_memory(&text).map_err(|e| {
                anyhow!("--max-node-memory {text:?}: {e}; write sizes like `512Mi` or `2Gi`")
            })?;
            if bytes < MIN_NODE_MEMORY_BYTES {
                bail!("--max-node-memory {text:?}: Docker needs at least 6Mi per container");
            }
            policy.max_memory_bytes = bytes;
        }
        if let Some(cpus) = s.max_node_cpus {
            if !(cpus.is_finite() && cpus >= MIN_NODE_CPUS) {
                bail!("--max-node-cpus {cpus}: expected a number of CPUs of at least 0.01");
            }
            policy.max_cpus = cpus;
        }
        if let Some(n) = s.pids_limit {
            // Docker reads 0 and -1 as "no limit": not what a ceiling is for.
            if n < 1 {
                bail!("--pids-limit {n}: must be at least 1");
            }
            policy.pids_limit = n;
        }
        if let Some(allow) = s.allow_privileged {
            policy.allow_privileged = allow;
        }
        Ok(policy)
    }

    /// The Docker backend's configuration under this policy; the one place the
    /// operator's settings become a [`DockerConfig`] (`serve` and `test` alike).
    pub fn docker_config(&self, owner: Option<String>) -> DockerConfig {
        DockerConfig {
            max_memory_bytes: self.max_memory_bytes,
            max_cpus: self.max_cpus,
            pids_limit: self.pids_limit,
            allow_privileged: self.allow_privileged,
            owner,
            ..DockerConfig::default()
        }
    }
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
        }
    }
}

impl Config {
    /// Defaults that work on a laptop, for the given content and data directories.
    pub fn new(content: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            content: content.into(),
            images: ImageMap::default(),
            data: data.into(),
            admin_token: None,
            auth: AuthMode::Open,
            join_code: None,
            backend: BackendKind::Docker,
            limits: Limits::default(),
            on_shutdown: OnShutdown::Keep,
            tls: None,
            nodes: NodePolicy::default(),
        }
    }

    /// Applies defaults and checks every value; errors name the setting.
    pub fn validate(s: Settings) -> anyhow::Result<Config> {
        let nodes = NodePolicy::validate(s.node_settings())?;
        let mut config = Config::new(
            s.content.unwrap_or_else(|| PathBuf::from("content")),
            s.data.unwrap_or_else(|| PathBuf::from("data")),
        );
        config.images = super::content::image_map(s.images.as_deref())?;
        if let Some(listen) = s.listen {
            config.listen = listen
                .parse()
                .with_context(|| format!("--listen {listen:?}: expected ADDRESS:PORT"))?;
        }
        config.admin_token = s.admin_token.filter(|t| !t.is_empty());
        config.auth = match s.auth.as_deref() {
            None | Some("open") => AuthMode::Open,
            Some("code") => AuthMode::Code,
            Some(other) => bail!("--auth {other:?}: expected `open` or `code`"),
        };
        config.join_code = s.join_code.filter(|c| !c.is_empty());
        if config.auth == AuthMode::Code && config.join_code.is_none() {
            bail!("--auth code needs --join-code (the code learners enter)");
        }
        config.backend = match s.backend.as_deref() {
            None | Some("docker") => BackendKind::Docker,
            Some("local") => BackendKind::Local,
            Some(other) => bail!("--backend {other:?}: expected `docker` or `local`"),
        };
        if config.backend == BackendKind::Local && !config.listen.ip().is_loopback() {
            bail!(
                "--backend local gives learners a shell on this machine with no isolation; \
                 it is only allowed with a loopback --listen address, not {}",
                config.listen
            );
        }
        let limits = &mut config.limits;
        if let Some(n) = s.max_sessions {
            if n == 0 {
                bail!("--max-sessions must be at least 1");
            }
            limits.max_sessions = n;
        }
        let durations = [
            ("--session-ttl", s.session_ttl, &mut limits.session_ttl),
            ("--idle-timeout", s.idle_timeout, &mut limits.idle_timeout),
            (
                "--expiry-warning",
                s.expiry_warning,
                &mut limits.expiry_warning,
            ),
            ("--extend-by", s.extend_by, &mut limits.extend_by),
            (
                "--terminal-grace",
                s.terminal_grace,
                &mut limits.terminal_grace,
            ),
            ("--finish-grace", s.finish_grace, &mut limits.finish_grace),
        ];
        for (flag, value, slot) in durations {
            if let Some(text) = value {
                *slot = parse_duration(flag, &text)?;
            }
        }
        if let Some(n) = s.warm_pool {
            limits.warm_pool = n;
        }
        config.on_shutdown = match s.on_shutdown.as_deref() {
            None | Some("keep") => OnShutdown::Keep,
            Some("destroy") => OnShutdown::Destroy,
            Some(other) => bail!("--on-shutdown {other:?}: expected `keep` or `destroy`"),
        };
        config.tls = match (s.tls.as_deref(), s.tls_cert, s.tls_key) {
            (None, None, None) => None,
            (Some("self-signed"), None, None) => Some(Tls::SelfSigned),
            (Some("self-signed"), _, _) => {
                bail!("--tls self-signed generates its own certificate; drop --tls-cert/--tls-key")
            }
            (None | Some("files"), Some(cert), Some(key)) => Some(Tls::Files { cert, key }),
            (None | Some("files"), _, _) => bail!("HTTPS needs both --tls-cert and --tls-key"),
            (Some(other), _, _) => {
                bail!("--tls {other:?}: expected `self-signed`, or give --tls-cert and --tls-key")
            }
        };
        if let Some(Tls::Files { cert, key }) = &config.tls {
            for path in [cert, key] {
                ensure_file(path)?;
            }
        }
        config.nodes = nodes;
        Ok(config)
    }
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

    fn settings(toml_text: &str) -> Settings {
        toml::from_str(toml_text).unwrap()
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
    }

    #[test]
    fn flags_win_over_the_file() {
        let flags = Settings {
            listen: Some("127.0.0.1:9000".into()),
            ..Settings::default()
        };
        let file = settings(
            "listen = \"0.0.0.0:1\"\nmax_sessions = 7\nsession_ttl = \"90s\"\nfinish_grace = \"2m\"",
        );
        let c = Config::validate(flags.or(file)).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.limits.max_sessions, 7);
        assert_eq!(c.limits.session_ttl, Duration::from_secs(90));
        assert_eq!(c.limits.finish_grace, Duration::from_secs(120));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases = [
            ("listen = \"nowhere\"", "--listen"),
            ("auth = \"maybe\"", "--auth"),
            ("auth = \"code\"", "--join-code"),
            ("backend = \"k8s\"", "--backend"),
            ("session_ttl = \"soon\"", "--session-ttl"),
            ("finish_grace = \"0s\"", "--finish-grace"),
            ("max_sessions = 0", "--max-sessions"),
            ("tls = \"self-signed\"\ntls_cert = \"x\"", "--tls-cert"),
            ("tls_cert = \"x\"", "--tls-key"),
            ("backend = \"local\"\nlisten = \"0.0.0.0:8080\"", "loopback"),
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
            let err = Config::validate(settings(text)).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(toml::from_str::<Settings>("listn = \"x\"").is_err());
    }

    #[test]
    fn node_policy_from_the_file() {
        let defaults = NodePolicy::default();
        assert_eq!(
            defaults,
            Config::validate(Settings::default()).unwrap().nodes
        );
        assert_eq!(defaults.max_memory_bytes, 2 << 30);
        assert!(!defaults.allow_privileged, "privileged nodes are opt-in");
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
                "pids_limit = 200\nallow_privileged = true",
                NodePolicy {
                    pids_limit: 200,
                    allow_privileged: true,
                    ..NodePolicy::default()
                },
            ),
            ("allow_privileged = false", NodePolicy::default()),
        ];
        for (text, expected) in cases {
            assert_eq!(
                Config::validate(settings(text)).unwrap().nodes,
                expected,
                "{text}"
            );
        }
        assert!(toml::from_str::<Settings>("allow_privileged = \"yes\"").is_err());
    }

    /// The policy reaches the Docker backend unchanged, and nothing else about it moves.
    #[test]
    fn node_policy_becomes_the_docker_config() {
        let policy = NodePolicy {
            max_memory_bytes: 300 << 20,
            max_cpus: 0.5,
            pids_limit: 99,
            allow_privileged: true,
        };
        let docker = policy.docker_config(Some("me".into()));
        assert_eq!(
            docker,
            DockerConfig {
                max_memory_bytes: 300 << 20,
                max_cpus: 0.5,
                pids_limit: 99,
                allow_privileged: true,
                owner: Some("me".into()),
                ..DockerConfig::default()
            }
        );
    }

    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        settings: Settings,
    }

    #[derive(clap::Parser)]
    struct Test {
        #[command(flatten)]
        nodes: NodeSettings,
        paths: Vec<PathBuf>,
    }

    #[test]
    fn node_flags_on_the_command_line() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            let flags = Serve::try_parse_from([&["serve"], args].concat())
                .unwrap()
                .settings;
            // A flag wins over the file.
            let file = settings("allow_privileged = true\npids_limit = 5");
            Config::validate(flags.or(file)).unwrap().nodes
        };
        let from_file = parse(&[]);
        assert!(from_file.allow_privileged);
        assert_eq!(from_file.pids_limit, 5);
        let flags = parse(&[
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
                allow_privileged: false,
            }
        );
        // `playlab test` takes lesson paths after the flags: a bare
        // `--allow-privileged` must not swallow one as its value.
        let test =
            Test::try_parse_from(["test", "--allow-privileged", "content/kubeadm-init"]).unwrap();
        assert_eq!(test.nodes.allow_privileged, Some(true));
        assert_eq!(test.paths, [PathBuf::from("content/kubeadm-init")]);
        assert!(Test::try_parse_from(["test", "--allow-privileged=maybe"]).is_err());
    }

    /// `Settings` repeats `NodeSettings` field for field (see the comment there); the
    /// two must offer the very same flags, variables and help.
    #[test]
    fn serve_and_test_offer_the_same_node_flags() {
        use clap::Args;
        let serve = Settings::augment_args(clap::Command::new("serve"));
        let test = NodeSettings::augment_args(clap::Command::new("test"));
        let describe = |arg: &clap::Arg| {
            format!(
                "{:?} {:?} {:?} {:?}",
                arg.get_long(),
                arg.get_env(),
                arg.get_help().map(ToString::to_string),
                arg.get_num_args()
            )
        };
        let node_args: Vec<_> = test.get_arguments().collect();
        assert_eq!(node_args.len(), 4);
        for arg in node_args {
            let twin = serve
                .get_arguments()
                .find(|a| a.get_id() == arg.get_id())
                .unwrap_or_else(|| panic!("serve has no --{}", arg.get_id()));
            assert_eq!(describe(twin), describe(arg));
        }
    }
}
