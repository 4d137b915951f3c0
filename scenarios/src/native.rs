//! The native lesson format: `lesson.yaml` plus Markdown (and optional script) files.
//!
//! The `*File` types mirror the YAML one to one; they are what the JSON Schema is
//! generated from (see [`crate::schema`]) and they reject unknown keys, so a typo is a
//! diagnostic instead of a silently ignored setting. [`load`] parses the text (see
//! `yaml.rs`, which keeps the position of every node), deserializes it, and resolves
//! it into a [`Lesson`]: files are read, paths made absolute, defaults applied, every
//! reference checked, and its translations found (`translation.rs`).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::resolve::Resolver;
use crate::source_map::{field, index};
use crate::units;
use crate::yaml;

/// The most nodes one environment may have: each is a container, and a training day
/// runs many sessions on one host.
pub const MAX_NODES: usize = 8;

/// `lesson.yaml`: one lesson. The lesson's id is the name of its folder.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "playlab lesson (lesson.yaml)")]
pub struct LessonFile {
    /// Shown in the lesson list and at the top of the lesson.
    pub title: String,
    /// One or two sentences for the lesson list.
    pub description: String,
    #[serde(default)]
    pub difficulty: Option<DifficultyFile>,
    /// How long the lesson takes, e.g. `30m`.
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The language the lesson is written in, a BCP 47 tag such as `en` or `zh`
    /// (default `en`). Translations into other languages sit beside its files
    /// (`step1.zh.md`, `lesson.zh.yaml`).
    #[serde(default)]
    pub language: Option<String>,
    /// How long a session lives before its environment is destroyed, e.g. `2h`
    /// (default: the server's setting). `ttl` is accepted too.
    #[serde(default, alias = "ttl")]
    pub session_ttl: Option<String>,
    pub environment: EnvironmentFile,
    /// Files copied into nodes before the setup scripts run.
    #[serde(default)]
    pub assets: Vec<AssetFile>,
    /// Scripts run, in order, before the learner gets a terminal.
    #[serde(default)]
    pub setup: Vec<ScriptFile>,
    /// Web apps on the nodes, each opened in a tab beside the terminals.
    #[serde(default)]
    pub ports: Vec<PortFile>,
    /// How the lesson page arranges the learner's tools (default `terminal`).
    #[serde(default)]
    pub layout: Option<LayoutFile>,
    /// The learner's file editor: the folder it shows on every node (default `/root`).
    #[serde(default)]
    pub editor: Option<EditorFile>,
    /// Markdown file shown before the first step.
    #[serde(default)]
    pub intro: Option<String>,
    /// Markdown file shown after the last step.
    #[serde(default)]
    pub finish: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepFile>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DifficultyFile {
    Beginner,
    Intermediate,
    Advanced,
}

/// `terminal`: the terminals beside the instructions; `editor-terminal`: a file
/// editor above them; `ide`: an IDE (file tree, editor, terminals).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutFile {
    Terminal,
    EditorTerminal,
    Ide,
}

/// The nodes and network of every session of this lesson.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentFile {
    /// 1 to 8 nodes. The first one is where commands without a `node` run.
    pub nodes: Vec<NodeFile>,
    /// Whether nodes may reach the internet (default `false`).
    #[serde(default)]
    pub internet: bool,
    /// A per-session PKI copied into every node: `kubernetes`, or
    /// `{kind: kubernetes, short_lived: {apiserver: 48h}}`.
    #[serde(default)]
    pub pki: Option<PkiFile>,
}

/// One container of the environment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// A DNS label (`controlplane`, `node01`); becomes the hostname.
    pub name: String,
    /// An image reference. Give either `image` or `build`.
    #[serde(default)]
    pub image: Option<String>,
    /// A folder with a Dockerfile, relative to the lesson folder.
    #[serde(default)]
    pub build: Option<String>,
    /// Memory limit such as `512Mi` or `1Gi` (default `512Mi`).
    #[serde(default)]
    #[schemars(with = "Option<StringOrNumber>")]
    pub memory: Option<String>,
    /// CPU limit (default `1`).
    #[serde(default)]
    pub cpus: Option<f64>,
    /// Run systemd as PID 1, as a Kubernetes node needs.
    #[serde(default)]
    pub systemd: bool,
    /// A system node (systemd, containerd or Docker inside), as a kubeadm node or a
    /// Docker lesson needs. The lesson then starts only on servers whose operator
    /// allows system nodes (`--allow-system-nodes`). `privileged:` is the key's
    /// former name, still read.
    #[serde(default, alias = "privileged")]
    pub system: bool,
    /// Linux capabilities to add, e.g. `NET_ADMIN`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Environment variables of every process on the node.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// `kubernetes`, or the long form with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PkiFile {
    Kind(PkiKind),
    Detailed(PkiDetails),
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PkiKind {
    /// The files kubeadm creates under `/etc/kubernetes/pki`, plus kubeconfigs.
    Kubernetes,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PkiDetails {
    pub kind: PkiKind,
    /// Certificates issued with a short validity, by name: `{apiserver: 48h}`.
    #[serde(default)]
    pub short_lived: BTreeMap<String, String>,
}

/// A file copied from the lesson folder into a node.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetFile {
    /// Default: the first node.
    #[serde(default)]
    pub node: Option<String>,
    /// Path relative to the lesson folder.
    pub from: String,
    /// Absolute path inside the node.
    pub to: String,
    /// Octal permissions such as `0755` (default `0644`).
    #[serde(default)]
    #[schemars(with = "Option<StringOrNumber>")]
    pub mode: Option<String>,
}

/// A port of a node where a web app listens, shown to the learner as a tab.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortFile {
    /// Default: the first node.
    #[serde(default)]
    pub node: Option<String>,
    /// The TCP port the app listens on inside the node, 1 to 65535.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u64,
    /// The tab's name (default `NODE:PORT`).
    #[serde(default)]
    pub title: Option<String>,
    /// Where the tab opens, from the app's root (default `/`).
    #[serde(default)]
    pub path: Option<String>,
}

/// Where the learner's file editor opens, and whether it may leave that folder.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditorFile {
    /// An absolute path inside the nodes (default `/root`, the home directory).
    #[serde(default)]
    pub root: Option<String>,
    /// Refuse files outside `root`, symbolic links leading out included (default
    /// `false`: `root` is only where the file tree starts).
    #[serde(default)]
    pub restricted: bool,
}

/// A script run on a node. `run` is either the script itself or, when it is a single
/// word ending in `.sh`, the name of a script file in the lesson folder.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptFile {
    /// Default: the first node.
    #[serde(default)]
    pub node: Option<String>,
    pub run: String,
}

/// One page of instructions.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    pub title: String,
    /// Markdown file, relative to the lesson folder.
    pub text: String,
    /// Markdown file, relative to the lesson folder: a nudge the learner opens when
    /// stuck (under the step text and next to a failed check).
    #[serde(default)]
    pub hint: Option<String>,
    /// Scripts run when the learner reaches this step.
    #[serde(default)]
    pub setup: Vec<ScriptFile>,
    /// All must pass for the step to be complete.
    #[serde(default)]
    pub check: Vec<CheckFile>,
    /// The author's solution; `playlab test` runs it between failing and passing checks.
    #[serde(default)]
    pub solve: Vec<ScriptFile>,
    #[serde(default)]
    pub quiz: Vec<QuizFile>,
}

/// A check: either a shell check (`run`, exit 0 passes) or a WASM check (`wasm` with
/// `probes`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckFile {
    /// Shell checks: the node to run on (default: the first node).
    #[serde(default)]
    pub node: Option<String>,
    /// Shell checks: the script, or a `.sh` file name.
    #[serde(default)]
    pub run: Option<String>,
    /// WASM checks: a `.wasm` or `.wat` file, relative to the lesson folder.
    #[serde(default)]
    pub wasm: Option<String>,
    /// WASM checks: commands whose output the module judges.
    #[serde(default)]
    pub probes: Vec<ScriptFile>,
    /// Shown to the learner when the check does not pass.
    #[serde(default)]
    pub fail: Option<String>,
    /// Each attempt is stopped after this long (default `10s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Keep retrying for up to this long before failing (default `0s`).
    #[serde(default)]
    pub wait: Option<String>,
}

/// A multiple-choice question.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuizFile {
    pub question: String,
    pub choices: Vec<String>,
    /// Indices (from 0) of every correct choice.
    pub answer: Vec<usize>,
    /// Shown after answering.
    #[serde(default)]
    pub explain: Option<String>,
}

/// Schema-only: YAML scalars such as `memory: 1024` or `mode: 0755` may be written
/// as numbers; the loader reads them as text either way.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
enum StringOrNumber {
    String(String),
    Number(u64),
}

/// Every key a `lesson.yaml` mapping may have, for "did you mean" hints.
const KNOWN_KEYS: &[&str] = &[
    "title",
    "description",
    "difficulty",
    "duration",
    "tags",
    "language",
    "session_ttl",
    "ttl",
    "environment",
    "assets",
    "setup",
    "ports",
    "layout",
    "port",
    "editor",
    "root",
    "restricted",
    "path",
    "intro",
    "finish",
    "steps",
    "nodes",
    "internet",
    "pki",
    "name",
    "image",
    "build",
    "memory",
    "cpus",
    "systemd",
    "system",
    "capabilities",
    "env",
    "kind",
    "short_lived",
    "node",
    "from",
    "to",
    "mode",
    "run",
    "text",
    "hint",
    "check",
    "solve",
    "quiz",
    "wasm",
    "probes",
    "fail",
    "timeout",
    "wait",
    "question",
    "choices",
    "answer",
    "explain",
];

/// Loads the native lesson in `dir` (whose `lesson.yaml` holds `text`). Returns the
/// lesson when the file could be deserialized, and every problem found, its
/// translations' included (see [`crate::translation`]).
pub fn load(id: &str, dir: &Path, text: &str) -> (Option<Lesson>, Vec<Diagnostic>) {
    let file = dir.join("lesson.yaml");
    let (raw, map) = match yaml::parse::<LessonFile>(&file, text, "title", KNOWN_KEYS) {
        Ok(parsed) => parsed,
        Err(d) => return (None, vec![d]),
    };
    let mut r = Resolver {
        dir,
        map: &map,
        diags: Vec::new(),
        nodes: Vec::new(),
    };
    let mut lesson = r.lesson(id, raw);
    let mut diags = r.diags;
    let (translations, problems) = crate::translation::load(&lesson, &map, text);
    lesson.translations = translations;
    diags.extend(problems);
    (Some(lesson), diags)
}

impl Resolver<'_> {
    fn script(&mut self, s: &ScriptFile, path: &str) -> Script {
        Script {
            node: self.node_ref(s.node.as_deref(), path),
            run: self.run_text(&s.run, &field(path, "run")),
            foreground: false,
        }
    }

    fn scripts(&mut self, list: &[ScriptFile], path: &str) -> Vec<Script> {
        list.iter()
            .enumerate()
            .map(|(i, s)| self.script(s, &index(path, i)))
            .collect()
    }

    fn lesson(&mut self, id: &str, raw: LessonFile) -> Lesson {
        let environment = self.environment(raw.environment);
        let assets = raw
            .assets
            .iter()
            .enumerate()
            .filter_map(|(i, a)| self.asset(a, &index("assets", i)))
            .collect();
        let setup = self.scripts(&raw.setup, "setup");
        let ports = raw
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| self.port(p, &index("ports", i)))
            .collect();
        let editor = raw
            .editor
            .as_ref()
            .map(|e| self.editor(e))
            .unwrap_or_default();
        let intro = raw.intro.as_deref().and_then(|f| self.page(f, "intro"));
        let finish = raw.finish.as_deref().and_then(|f| self.page(f, "finish"));
        let steps = raw
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| self.step(s, &index("steps", i)))
            .collect();
        Lesson {
            id: id.to_owned(),
            dir: self.dir.to_owned(),
            format: LessonFormat::Native,
            title: raw.title,
            description: raw.description,
            difficulty: raw.difficulty.map(|d| match d {
                DifficultyFile::Beginner => Difficulty::Beginner,
                DifficultyFile::Intermediate => Difficulty::Intermediate,
                DifficultyFile::Advanced => Difficulty::Advanced,
            }),
            duration: raw
                .duration
                .as_deref()
                .and_then(|d| self.duration(d, "duration")),
            tags: raw.tags,
            language: self.language(raw.language.as_deref()),
            translations: BTreeMap::new(),
            session_ttl: raw
                .session_ttl
                .as_deref()
                .and_then(|d| self.duration(d, "session_ttl")),
            environment,
            assets,
            setup,
            ports,
            layout: match raw.layout {
                None | Some(LayoutFile::Terminal) => Layout::Terminal,
                Some(LayoutFile::EditorTerminal) => Layout::EditorTerminal,
                Some(LayoutFile::Ide) => Layout::Ide,
            },
            traffic: None,
            editor,
            intro,
            finish,
            steps,
            notes: Vec::new(),
        }
    }

    fn language(&mut self, language: Option<&str>) -> String {
        match language {
            None => DEFAULT_LANGUAGE.to_owned(),
            Some(tag) => {
                if !units::is_language_tag(tag) {
                    self.error("language", format!("`{tag}` is not a language tag"))
                        .hint = Some("write a BCP 47 tag such as `en`, `zh` or `pt-BR`".into());
                }
                tag.to_owned()
            }
        }
    }

    fn environment(&mut self, raw: EnvironmentFile) -> Environment {
        let path = "environment.nodes";
        if raw.nodes.is_empty() {
            self.error(path, "the environment has no nodes").hint = Some(
                "add at least one node: `nodes: [{name: node01, image: playlab/base:latest}]`"
                    .into(),
            );
        } else if raw.nodes.len() > MAX_NODES {
            self.error(
                &index(path, MAX_NODES),
                format!(
                    "the environment has {} nodes; at most {MAX_NODES} are allowed",
                    raw.nodes.len()
                ),
            );
        }
        let mut seen = HashSet::new();
        let mut nodes = Vec::new();
        for (i, n) in raw.nodes.into_iter().enumerate() {
            let p = index(path, i);
            if !units::is_dns_label(&n.name) {
                self.error(
                    &field(&p, "name"),
                    format!("node name `{}` is not a valid DNS label", n.name),
                )
                .hint = Some("use 1-63 lowercase letters, digits and `-`, e.g. `node01`".into());
            }
            if !seen.insert(n.name.clone()) {
                self.error(
                    &field(&p, "name"),
                    format!("duplicate node name `{}`", n.name),
                );
            }
            nodes.push(self.node(n, &p));
        }
        self.nodes = nodes.iter().map(|n: &NodeSpec| n.name.clone()).collect();
        let pki = raw.pki.map(|pki| match pki {
            PkiFile::Kind(PkiKind::Kubernetes) => Pki::Kubernetes {
                short_lived: BTreeMap::new(),
            },
            PkiFile::Detailed(PkiDetails {
                kind: PkiKind::Kubernetes,
                short_lived,
            }) => {
                let short_lived = short_lived
                    .into_iter()
                    .filter_map(|(name, d)| {
                        let p = field("environment.pki.short_lived", &name);
                        self.duration(&d, &p).map(|d| (name, d))
                    })
                    .collect();
                Pki::Kubernetes { short_lived }
            }
        });
        Environment {
            nodes,
            internet: raw.internet,
            pki,
        }
    }

    fn node(&mut self, n: NodeFile, path: &str) -> NodeSpec {
        let image = match (n.image, n.build) {
            (Some(image), None) => {
                if image.trim().is_empty() {
                    self.error(&field(path, "image"), "the image reference is empty")
                        .hint = Some(
                        "name an image such as `debian:bookworm-slim`, or use `build: FOLDER`"
                            .into(),
                    );
                }
                NodeImage::Reference(image)
            }
            (None, Some(build)) => {
                let p = field(path, "build");
                let dir = self.content_path(&build, &p);
                if let Some(dir) = &dir {
                    if !dir.is_dir() {
                        self.error(&p, format!("build folder `{build}` does not exist"));
                    } else if !dir.join("Dockerfile").is_file() {
                        self.error(&p, format!("build folder `{build}` has no Dockerfile"));
                    }
                }
                NodeImage::Build(dir.unwrap_or_default())
            }
            (Some(image), Some(_)) => {
                self.error(
                    &field(path, "build"),
                    "a node has either `image` or `build`, not both",
                );
                NodeImage::Reference(image)
            }
            (None, None) => {
                self.error(
                    path,
                    format!("node `{}` needs an `image` or a `build` folder", n.name),
                );
                NodeImage::Reference(String::new())
            }
        };
        let memory_bytes = match n.memory.as_deref() {
            None => DEFAULT_NODE_MEMORY_BYTES,
            Some(m) => match units::parse_memory(m) {
                Ok(b) => b,
                Err(msg) => {
                    self.error(&field(path, "memory"), msg).hint =
                        Some("write sizes like `512Mi` or `2Gi`".into());
                    DEFAULT_NODE_MEMORY_BYTES
                }
            },
        };
        let cpus = n.cpus.unwrap_or(DEFAULT_NODE_CPUS);
        if !(cpus.is_finite() && cpus > 0.0) {
            self.error(&field(path, "cpus"), "`cpus` must be a number above 0");
        }
        if n.system {
            // Not an error: the lesson is right, but the author should know it will
            // not start everywhere.
            let warning = self.map.warning(
                &field(path, "system"),
                format!(
                    "node `{}` is a system node: the lesson starts only on servers whose \
                     operator allows system nodes (--allow-system-nodes)",
                    n.name
                ),
            );
            self.diags.push(warning);
        }
        NodeSpec {
            name: n.name,
            image,
            memory_bytes,
            cpus,
            systemd: n.systemd,
            system: n.system,
            capabilities: n.capabilities,
            env: n.env,
        }
    }

    fn asset(&mut self, a: &AssetFile, path: &str) -> Option<Asset> {
        let node = self.node_ref(a.node.as_deref(), path);
        let from_path = field(path, "from");
        let from = self.lesson_path(&a.from, &from_path)?;
        if !from.is_file() {
            self.error(&from_path, format!("asset file `{}` not found", a.from));
        }
        if !a.to.starts_with('/') {
            self.error(
                &field(path, "to"),
                format!("`to` must be an absolute path in the node, not `{}`", a.to),
            );
        }
        let mode = match a.mode.as_deref() {
            None => 0o644,
            Some(m) => units::parse_mode(m).unwrap_or_else(|msg| {
                self.error(&field(path, "mode"), msg);
                0o644
            }),
        };
        Some(Asset {
            node,
            from,
            to: a.to.clone(),
            mode,
        })
    }

    fn port(&mut self, p: &PortFile, path: &str) -> WebPort {
        let node = self.node_ref(p.node.as_deref(), path);
        let port = match u16::try_from(p.port) {
            Ok(port) if port > 0 => port,
            _ => {
                self.error(
                    &field(path, "port"),
                    format!("port {} is not a TCP port", p.port),
                )
                .hint = Some("a port is a number from 1 to 65535".into());
                0
            }
        };
        let open = p.path.clone().unwrap_or_else(|| "/".to_owned());
        if !open.starts_with('/') {
            self.error(
                &field(path, "path"),
                format!("`path` must start with `/`, not `{open}`"),
            )
            .hint = Some(format!("write `/{open}`"));
        }
        WebPort {
            title: p.title.clone().unwrap_or_else(|| format!("{node}:{port}")),
            node,
            port,
            path: open,
        }
    }

    fn editor(&mut self, e: &EditorFile) -> EditorRoot {
        let root = e
            .root
            .clone()
            .unwrap_or_else(|| DEFAULT_EDITOR_ROOT.to_owned());
        // Relative to what? Nodes have no one working directory the editor could use.
        if !root.starts_with('/') {
            self.error(
                "editor.root",
                format!("the editor's `root` must be an absolute path, not `{root}`"),
            )
            .hint = Some(format!("write `/{root}`, or leave it out for `/root`"));
        }
        EditorRoot {
            path: root,
            restricted: e.restricted,
        }
    }

    fn step(&mut self, s: &StepFile, path: &str) -> Step {
        let text = self
            .page(&s.text, &field(path, "text"))
            .unwrap_or_else(|| Page {
                path: self.dir.join(&s.text),
                markdown: String::new(),
            });
        let hint = s
            .hint
            .as_deref()
            .and_then(|f| self.page(f, &field(path, "hint")));
        let checks = s
            .check
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.check(c, &index(&field(path, "check"), i)))
            .collect();
        let quiz = s
            .quiz
            .iter()
            .enumerate()
            .map(|(i, q)| self.quiz(q, &index(&field(path, "quiz"), i)))
            .collect();
        Step {
            title: s.title.clone(),
            text,
            hint,
            setup: self.scripts(&s.setup, &field(path, "setup")),
            checks,
            solve: self.scripts(&s.solve, &field(path, "solve")),
            quiz,
        }
    }

    fn check(&mut self, c: &CheckFile, path: &str) -> Option<Check> {
        match (&c.run, &c.wasm) {
            (Some(run), None) => Some(Check::Shell(self.shell_check(c, run, path))),
            (None, Some(wasm)) => self.wasm_check(c, wasm, path).map(Check::Wasm),
            (Some(_), Some(_)) => {
                self.error(
                    &field(path, "wasm"),
                    "a check has either `run` or `wasm`, not both",
                );
                None
            }
            (None, None) => {
                self.error(
                    path,
                    "a check needs `run` (a shell check) or `wasm` (a WASM check)",
                );
                None
            }
        }
    }

    fn shell_check(&mut self, c: &CheckFile, run: &str, path: &str) -> ShellCheck {
        if !c.probes.is_empty() {
            self.error_at_key(
                &field(path, "probes"),
                "`probes` belong to `wasm` checks; a shell check has only `run`",
            )
            .hint = Some("remove `probes`, or replace `run` with `wasm: FILE.wat`".into());
        }
        let timeout = c
            .timeout
            .as_deref()
            .and_then(|t| self.duration(t, &field(path, "timeout")))
            .unwrap_or(DEFAULT_CHECK_TIMEOUT);
        let wait = c
            .wait
            .as_deref()
            .and_then(|t| self.duration(t, &field(path, "wait")))
            .unwrap_or(Duration::ZERO);
        ShellCheck {
            node: self.node_ref(c.node.as_deref(), path),
            run: self.run_text(run, &field(path, "run")),
            fail: c.fail.clone(),
            timeout,
            wait,
        }
    }

    fn wasm_check(&mut self, c: &CheckFile, wasm: &str, path: &str) -> Option<WasmCheck> {
        let p = field(path, "wasm");
        let module = self.lesson_path(wasm, &p)?;
        if !module.is_file() {
            self.error(&p, format!("WASM module `{wasm}` not found"));
        } else if !matches!(
            module.extension().and_then(|e| e.to_str()),
            Some("wasm" | "wat")
        ) {
            self.error(&p, format!("`{wasm}` must be a `.wasm` or `.wat` file"));
        }
        if c.probes.is_empty() {
            self.error(path, "a `wasm` check needs at least one probe")
                .hint = Some("add `probes: [{node: node01, run: \"...\"}]`".into());
        }
        self.reject_shell_keys(c, path);
        let probes = c
            .probes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let s = self.script(p, &index(&field(path, "probes"), i));
                Probe {
                    node: s.node,
                    run: s.run,
                }
            })
            .collect();
        Some(WasmCheck {
            module,
            probes,
            fail: c.fail.clone(),
        })
    }

    /// Errors for the keys only a shell check has, set on a `wasm` check.
    fn reject_shell_keys(&mut self, c: &CheckFile, path: &str) {
        // What to do instead differs per key, so each carries its own advice.
        let shell_only = [
            (
                "node",
                c.node.is_some(),
                "give each probe its `node` instead",
            ),
            (
                "timeout",
                c.timeout.is_some(),
                &format!(
                    "a WASM check's probes each get {} s",
                    DEFAULT_CHECK_TIMEOUT.as_secs()
                ),
            ),
            (
                "wait",
                c.wait.is_some(),
                "a WASM check runs once; use a shell check to wait for something",
            ),
        ];
        for (key, _, advice) in shell_only.into_iter().filter(|(_, set, _)| *set) {
            self.error_at_key(
                &field(path, key),
                format!("`{key}` belongs to shell checks: {advice}"),
            );
        }
    }

    fn quiz(&mut self, q: &QuizFile, path: &str) -> QuizItem {
        if q.choices.len() < 2 {
            self.error(
                &field(path, "choices"),
                "a quiz question needs at least two choices",
            );
        }
        if q.answer.is_empty() {
            self.error(
                &field(path, "answer"),
                "a quiz question needs at least one correct answer",
            )
            .hint = Some("`answer` lists the indices (from 0) of the correct choices".into());
        }
        for (i, a) in q.answer.iter().enumerate() {
            if *a >= q.choices.len() {
                self.error(
                    &index(&field(path, "answer"), i),
                    format!(
                        "answer {a} is out of range: there are {} choices, numbered from 0",
                        q.choices.len()
                    ),
                );
            }
        }
        QuizItem {
            question: q.question.clone(),
            choices: q.choices.clone(),
            answer: q.answer.clone(),
            explain: q.explain.clone(),
        }
    }
}
