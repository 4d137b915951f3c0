//! The resolved, in-memory form of a lesson that the rest of playlab works with.
//!
//! Whatever the on-disk format (native `lesson.yaml` or Killercoda `index.json`), a
//! loaded lesson looks like this: file references are resolved (Markdown and scripts
//! are read into strings, asset and build paths are absolute), defaults are applied,
//! and durations are parsed. The on-disk formats live in their own modules; this one
//! has no serde attributes on purpose, so the file formats can evolve without
//! touching the types every other crate uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

/// One lesson: a folder of content, identified by the folder's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// The folder name; unique within a content directory.
    pub id: String,
    /// The lesson folder (absolute).
    pub dir: PathBuf,
    pub format: LessonFormat,
    pub title: String,
    pub description: String,
    pub difficulty: Option<Difficulty>,
    /// How long the lesson takes a learner, as the author estimates it.
    pub duration: Option<Duration>,
    pub tags: Vec<String>,
    /// The language the lesson is written in (a BCP 47 tag, [`DEFAULT_LANGUAGE`]
    /// unless the author says otherwise): what is shown where a translation is missing.
    pub language: String,
    /// The lesson in other languages, by language tag; see [`Lesson::localized`].
    pub translations: BTreeMap<String, Translation>,
    /// How long a session of this lesson lives before it expires; `None` means the
    /// operator's default.
    pub session_ttl: Option<Duration>,
    pub environment: Environment,
    /// Files copied into nodes before the setup scripts run.
    pub assets: Vec<Asset>,
    /// Scripts run, in order, before the learner gets a terminal.
    pub setup: Vec<Script>,
    /// The web apps of the environment the learner opens beside the terminals.
    pub ports: Vec<WebPort>,
    /// How the lesson page arranges the learner's tools.
    pub layout: Layout,
    /// Where the web ports of one session are: set by [`Lesson::with_traffic`] for the
    /// session a lesson runs in, never by a file (a loaded lesson has `None`).
    pub traffic: Option<TrafficUrls>,
    /// Where the learner's file editor opens on the nodes.
    pub editor: EditorRoot,
    pub intro: Option<Page>,
    pub finish: Option<Page>,
    pub steps: Vec<Step>,
    /// What a learner should know about how this lesson runs on this server, shown
    /// on its page: set by the importer (e.g. an imported scenario whose original
    /// environment had a tool this one lacks), never by an author.
    pub notes: Vec<String>,
}

impl Lesson {
    /// A lesson that is only an environment: no pages, assets, setup or steps. For
    /// code that builds lessons itself (tests, benchmarks) rather than loading them.
    pub fn with_environment(
        id: impl Into<String>,
        dir: impl Into<PathBuf>,
        environment: Environment,
    ) -> Lesson {
        let id = id.into();
        Lesson {
            title: id.clone(),
            id,
            dir: dir.into(),
            format: LessonFormat::Native,
            description: String::new(),
            difficulty: None,
            duration: None,
            tags: Vec::new(),
            language: DEFAULT_LANGUAGE.to_owned(),
            translations: BTreeMap::new(),
            session_ttl: None,
            environment,
            assets: Vec::new(),
            setup: Vec::new(),
            ports: Vec::new(),
            layout: Layout::Terminal,
            traffic: None,
            editor: EditorRoot::default(),
            intro: None,
            finish: None,
            steps: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Where a page sits in a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PagePlace {
    Intro,
    /// A step's text, by the step's index.
    StepText(usize),
    /// A step's hint, by the step's index.
    StepHint(usize),
    Finish,
}

impl Lesson {
    /// Every page of the lesson and where it sits, in the order a learner meets them.
    pub fn pages(&self) -> Vec<(PagePlace, &Page)> {
        let mut pages = Vec::new();
        pages.extend(self.intro.iter().map(|p| (PagePlace::Intro, p)));
        for (i, step) in self.steps.iter().enumerate() {
            pages.push((PagePlace::StepText(i), &step.text));
            pages.extend(step.hint.iter().map(|p| (PagePlace::StepHint(i), p)));
        }
        pages.extend(self.finish.iter().map(|p| (PagePlace::Finish, p)));
        pages
    }

    /// The page at `place`, to replace it, when the lesson has one there.
    pub fn page_mut(&mut self, place: PagePlace) -> Option<&mut Page> {
        match place {
            PagePlace::Intro => self.intro.as_mut(),
            PagePlace::StepText(i) => self.steps.get_mut(i).map(|s| &mut s.text),
            PagePlace::StepHint(i) => self.steps.get_mut(i).and_then(|s| s.hint.as_mut()),
            PagePlace::Finish => self.finish.as_mut(),
        }
    }
}

/// The language of a lesson that does not name one.
pub const DEFAULT_LANGUAGE: &str = "en";

/// A lesson's text in another language. Every part is `None` where the translation
/// has nothing usable (missing, or not the original's shape): the original is shown
/// there instead, marked as untranslated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translation {
    pub title: Option<String>,
    pub description: Option<String>,
    /// The translated pages, by where they sit in the lesson.
    pub pages: BTreeMap<PagePlace, Page>,
    /// One per step of the lesson, in order.
    pub steps: Vec<StepTranslation>,
    /// The parts translated from an older version of their original, as paths in
    /// `lesson.yaml` (`steps[1].text`): shown, but marked as possibly out of date.
    pub stale: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepTranslation {
    pub title: Option<String>,
    /// One per check of the step: its `fail` message.
    pub checks: Vec<Option<String>>,
    /// One per quiz question of the step.
    pub quiz: Vec<Option<QuizTranslation>>,
}

/// A quiz question's text; the answers are the original's (they are indices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizTranslation {
    pub question: String,
    /// As many as the original has, in its order.
    pub choices: Vec<String>,
    pub explain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LessonFormat {
    /// `lesson.yaml` + Markdown.
    Native,
    /// A Killercoda/Katacoda `index.json` scenario.
    Killercoda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difficulty {
    Beginner,
    Intermediate,
    Advanced,
}

impl Difficulty {
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Beginner => "beginner",
            Difficulty::Intermediate => "intermediate",
            Difficulty::Advanced => "advanced",
        }
    }
}

/// The nodes and the private network of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// 1 to 8 nodes; the first one is where Killercoda `verify` scripts and exec blocks
    /// without a node run.
    pub nodes: Vec<NodeSpec>,
    /// Whether nodes may reach outside the session's network. Off by default.
    pub internet: bool,
    pub pki: Option<Pki>,
}

impl Environment {
    /// Nodes on a private network with no way out and no PKI, the format's defaults.
    pub fn new(nodes: Vec<NodeSpec>) -> Environment {
        Environment {
            nodes,
            internet: false,
            pki: None,
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The nodes' names in environment order: what pages, terminals and the API list.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// The node that commands without an explicit node run on.
    pub fn default_node(&self) -> &str {
        self.nodes.first().map(|n| n.name.as_str()).unwrap_or("")
    }
}

/// One container in an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// A DNS label; becomes the container's hostname.
    pub name: String,
    pub image: NodeImage,
    pub memory_bytes: u64,
    pub cpus: f64,
    /// Run systemd as PID 1 (what a kind node needs).
    pub systemd: bool,
    /// A system node: systemd, containerd or a Docker engine run inside it, so it may
    /// mount filesystems and manage its own cgroups (what a kubeadm node or a
    /// Docker-in-the-node lesson needs). Runs only where the operator allows system
    /// nodes; elsewhere the lesson does not start.
    pub system: bool,
    /// Linux capabilities added to the container, e.g. `NET_ADMIN`.
    pub capabilities: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl NodeSpec {
    /// A node with the format's defaults: 512 MiB, 1 CPU, no systemd, not a system node,
    /// no added capabilities, no variables.
    pub fn new(name: impl Into<String>, image: NodeImage) -> NodeSpec {
        NodeSpec {
            name: name.into(),
            image,
            memory_bytes: DEFAULT_NODE_MEMORY_BYTES,
            cpus: DEFAULT_NODE_CPUS,
            systemd: false,
            system: false,
            capabilities: Vec::new(),
            env: BTreeMap::new(),
        }
    }
}

pub const DEFAULT_NODE_MEMORY_BYTES: u64 = 512 * 1024 * 1024;
pub const DEFAULT_NODE_CPUS: f64 = 1.0;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodeImage {
    /// An image reference, pulled when missing.
    Reference(String),
    /// A folder with a Dockerfile (absolute path), built and tagged by content hash.
    Build(PathBuf),
}

/// A per-session certificate authority setup copied into every node.
#[derive(Debug, Clone, PartialEq)]
pub enum Pki {
    /// The files kubeadm would create under `/etc/kubernetes/pki`, plus kubeconfig
    /// client certificates.
    Kubernetes {
        /// Certificates issued with a shorter validity than the default, by name
        /// (e.g. `apiserver-kubelet-client`), so a lesson can teach renewal.
        short_lived: BTreeMap<String, Duration>,
    },
}

/// A port of a node that serves a web app, shown to the learner as a tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPort {
    pub node: String,
    /// 1 to 65535.
    pub port: u16,
    pub title: String,
    /// Where the tab opens, from the app's root: starts with `/`.
    pub path: String,
}

/// How the lesson page arranges the learner's tools beside the instructions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// The terminals only.
    #[default]
    Terminal,
    /// A file editor above the terminals.
    EditorTerminal,
    /// An IDE (file tree, editor, terminals).
    Ide,
}

impl Layout {
    /// Every layout, with its name in files and the API.
    pub const ALL: [(Layout, &'static str); 3] = [
        (Layout::Terminal, "terminal"),
        (Layout::EditorTerminal, "editor-terminal"),
        (Layout::Ide, "ide"),
    ];

    pub fn as_str(self) -> &'static str {
        Layout::ALL
            .iter()
            .find(|(l, _)| *l == self)
            .map(|(_, name)| *name)
            .expect("every layout is in ALL")
    }

    /// The layout a name in a file means.
    pub fn from_name(name: &str) -> Option<Layout> {
        Layout::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(l, _)| *l)
    }
}

/// The URLs a session's traffic markers stand for (see [`crate::traffic`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficUrls {
    /// A port's URL, with `{node}` and `{port}` where the node's name and the port go:
    /// `http://localhost:8080/ports/SESSION/{node}/{port}/`.
    pub template: String,
    /// The page where the learner picks a node and a port (`{{TRAFFIC_SELECTOR}}`).
    pub selector: String,
}

/// The folder the learner's file editor shows on a node, and whether it may leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditorRoot {
    /// An absolute path inside the node.
    pub path: String,
    /// When set, the editor refuses every path that resolves outside `path` (after
    /// following symbolic links); otherwise `path` is only where the tree starts.
    pub restricted: bool,
}

/// Where the editor opens unless a lesson says otherwise: the home directory of the
/// user setup scripts, checks and terminals run as.
pub const DEFAULT_EDITOR_ROOT: &str = "/root";

impl Default for EditorRoot {
    fn default() -> Self {
        EditorRoot {
            path: DEFAULT_EDITOR_ROOT.to_owned(),
            restricted: false,
        }
    }
}

/// A file copied from the lesson folder into a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub node: String,
    /// Absolute path of the file on the host.
    pub from: PathBuf,
    /// Absolute path inside the node.
    pub to: String,
    /// Unix permission bits.
    pub mode: u32,
}

/// A shell script run on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub node: String,
    /// The script text (file references are already read).
    pub run: String,
    /// Killercoda `foreground` scripts are typed into the learner's terminal instead of
    /// being run out of sight.
    pub foreground: bool,
}

/// Markdown text and where it came from (for diagnostics and relative links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub path: PathBuf,
    pub markdown: String,
}

/// One page of instructions with its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: String,
    pub text: Page,
    /// A nudge the learner opens on demand when stuck; never the whole solution.
    pub hint: Option<Page>,
    /// Run when the learner reaches the step.
    pub setup: Vec<Script>,
    /// All must pass for the step to be complete.
    pub checks: Vec<Check>,
    /// The author's solution, used by `playlab test`.
    pub solve: Vec<Script>,
    pub quiz: Vec<QuizItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Shell(ShellCheck),
    Wasm(WasmCheck),
}

impl Check {
    /// The message shown to the learner when the check does not pass.
    pub fn fail_message(&self) -> Option<&str> {
        match self {
            Check::Shell(c) => c.fail.as_deref(),
            Check::Wasm(c) => c.fail.as_deref(),
        }
    }

    /// The message, to replace it (with a translation), when the check has one.
    pub fn fail_message_mut(&mut self) -> Option<&mut String> {
        match self {
            Check::Shell(c) => c.fail.as_mut(),
            Check::Wasm(c) => c.fail.as_mut(),
        }
    }
}

/// A script on a node; exit status 0 passes.
#[derive(Debug, Clone, PartialEq)]
pub struct ShellCheck {
    pub node: String,
    pub run: String,
    pub fail: Option<String>,
    /// Each attempt is killed after this long (default 10 s).
    pub timeout: Duration,
    /// Keep retrying, once a second, for up to this long (default zero: one attempt).
    pub wait: Duration,
}

pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// A WebAssembly module judging the output of probes run on nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct WasmCheck {
    /// Absolute path of the `.wasm` or `.wat` file.
    pub module: PathBuf,
    pub probes: Vec<Probe>,
    pub fail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub node: String,
    pub run: String,
}

/// A multiple-choice question; `answer` holds the indices of every correct choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizItem {
    pub question: String,
    pub choices: Vec<String>,
    pub answer: Vec<usize>,
    pub explain: Option<String>,
}
