//! Killercoda (and legacy Katacoda) scenarios, loaded unchanged from their `index.json`.
//!
//! The format is loose in the wild: keys are added and dropped between generations
//! and some files repeat keys, so the raw types here ignore unknown keys, duplicate
//! keys are reported as warnings (the last value wins, as in Killercoda), and
//! `backend.imageid` is turned into an environment through an [`ImageMap`] the
//! operator can replace.
//!
//! Mapping to the lesson model: `intro`/`finish` become pages; their `foreground` and
//! `background` scripts (and Katacoda's `code` and `courseData`, the same two) become
//! lesson setup scripts, a step's become step setup scripts (foreground ones marked
//! [`Script::foreground`]: the server runs them in the learner's terminal); a step's
//! `verify` becomes a shell check on the first node; `details.assets.hostN[]` copies
//! files from the `assets/` folder into the N-th node.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::resolve::Resolver;
use crate::source_map::{SourceMap, field, index};
use crate::units;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IndexFile {
    title: Option<String>,
    description: Option<String>,
    difficulty: Option<String>,
    time: Option<String>,
    details: Details,
    backend: Backend,
    interface: Interface,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Interface {
    layout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Details {
    intro: Option<PageRef>,
    steps: Vec<PageRef>,
    finish: Option<PageRef>,
    assets: BTreeMap<String, Vec<AssetRef>>,
}

/// An intro, step or finish entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PageRef {
    title: Option<String>,
    text: Option<String>,
    verify: Option<String>,
    foreground: Option<String>,
    background: Option<String>,
    /// Katacoda's name for a background script.
    course_data: Option<String>,
    /// Katacoda's name for a foreground script ("the commands to run in the
    /// foreground", next to `courseData` in the background).
    code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AssetRef {
    file: String,
    target: String,
    #[serde(default)]
    chmod: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Backend {
    imageid: Option<String>,
}

/// How Killercoda `backend.imageid` values become environments. Rules are tried in
/// order; the first whose `imageid` glob matches wins. An unknown image id gets a
/// warning and the first rule's nodes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageMap {
    pub rules: Vec<ImageRule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRule {
    /// A glob over image ids, e.g. `ubuntu*`.
    pub imageid: String,
    pub nodes: Vec<ImageNode>,
    /// What a learner should know about how this rule's scenarios run here (e.g. that
    /// the original environment had a tool this one lacks): shown on the lesson page
    /// and reported as a warning when a scenario is loaded.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageNode {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub systemd: bool,
    /// A system node (systemd, containerd or Docker inside); runs only where the
    /// operator allows system nodes. `privileged` is the key's former name.
    #[serde(default, alias = "privileged")]
    pub system: bool,
    /// Default `512Mi`.
    #[serde(default)]
    pub memory: Option<String>,
    /// Default `1`.
    #[serde(default)]
    pub cpus: Option<f64>,
}

/// The general-purpose image single-node scenarios run on.
pub const BASE_IMAGE: &str = "playlab/base:latest";
/// The image of `ubuntu` scenarios where system nodes are allowed: the base tools plus
/// a Docker engine of the node's own (built from `content/images/docker-node`).
pub const DOCKER_NODE_IMAGE: &str = "playlab/docker-node:latest";
/// The image Kubernetes scenarios' nodes run on (systemd, kubeadm, kubelet).
pub const KUBEADM_NODE_IMAGE: &str = "playlab/kubeadm-node:latest";

impl ImageMap {
    /// The built-in table. Killercoda's `ubuntu` environment has Docker installed and
    /// its scenarios rely on it, so where the operator allows system nodes
    /// (`system_nodes`) an `ubuntu` scenario gets a node with its own Docker engine;
    /// elsewhere it gets the plain base node, with a note saying `docker` will not be
    /// there. Kubernetes scenarios always get system nodes (they cannot run otherwise,
    /// and a server that refuses system nodes says so when they are started).
    pub fn builtin(system_nodes: bool) -> ImageMap {
        let node = |name: &str, image: &str| ImageNode {
            name: name.into(),
            image: image.into(),
            systemd: false,
            system: false,
            memory: None,
            cpus: None,
        };
        // dockerd and containerd take about 100 MiB before the learner runs anything.
        let docker = |name: &str| ImageNode {
            systemd: true,
            system: true,
            memory: Some("1Gi".into()),
            ..node(name, DOCKER_NODE_IMAGE)
        };
        // kubeadm's preflight wants 2 CPUs and about 1.7 GB per node; kubelet and
        // containerd need a system node (as kind's nodes are privileged).
        let kube = |name: &str| ImageNode {
            systemd: true,
            system: true,
            memory: Some("2Gi".into()),
            cpus: Some(2.0),
            ..node(name, KUBEADM_NODE_IMAGE)
        };
        let rule = |imageid: &str, nodes: Vec<ImageNode>| ImageRule {
            imageid: imageid.into(),
            nodes,
            note: None,
        };
        let ubuntu = if system_nodes {
            rule("ubuntu*", vec![docker("host01")])
        } else {
            ImageRule {
                note: Some(
                    "On Killercoda this scenario's `ubuntu` machine has Docker installed. \
                     This server's operator has not allowed system nodes \
                     (--allow-system-nodes), so here the node has no Docker engine and \
                     `docker` commands will fail."
                        .into(),
                ),
                ..rule("ubuntu*", vec![node("host01", BASE_IMAGE)])
            }
        };
        ImageMap {
            rules: vec![
                ubuntu,
                rule(
                    "kubernetes-kubeadm-2nodes",
                    vec![kube("controlplane"), kube("node01")],
                ),
                rule("kubernetes-kubeadm-1node", vec![kube("controlplane")]),
                rule(
                    "kubernetes-cluster*",
                    vec![kube("controlplane"), kube("node01")],
                ),
            ],
        }
    }
}

/// Why an operator's image map file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageMapError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
}

impl ImageMap {
    /// Reads an operator's image map: JSON of the form
    /// `{"rules": [{"imageid": "ubuntu*", "nodes": [{"name": "host01", "image": "…"}]}]}`.
    /// It replaces the default table entirely.
    pub fn from_file(path: &Path) -> Result<Self, ImageMapError> {
        let text = std::fs::read_to_string(path).map_err(|source| ImageMapError::Read {
            path: path.to_owned(),
            source,
        })?;
        let map: ImageMap = serde_json::from_str(&text).map_err(|e| ImageMapError::Parse {
            path: path.to_owned(),
            line: e.line(),
            col: e.column(),
            message: e.to_string(),
        })?;
        if let Some(rule) = map.rules.iter().find(|r| r.nodes.is_empty()) {
            return Err(ImageMapError::Parse {
                path: path.to_owned(),
                line: 1,
                col: 1,
                message: format!("the rule for `{}` has no nodes", rule.imageid),
            });
        }
        Ok(map)
    }

    /// The rule for `imageid`, if one matches.
    pub fn rule(&self, imageid: &str) -> Option<&ImageRule> {
        self.rules
            .iter()
            .find(|r| glob::Pattern::new(&r.imageid).is_ok_and(|p| p.matches(imageid)))
    }

    /// The rule a scenario with `imageid` runs on (the first rule when none
    /// matches), and whether one matched.
    fn rule_or_first(&self, imageid: &str) -> (Option<&ImageRule>, bool) {
        match self.rule(imageid) {
            Some(rule) => (Some(rule), true),
            None => (self.rules.first(), false),
        }
    }
}

impl ImageRule {
    fn environment(&self) -> Vec<NodeSpec> {
        self.nodes
            .iter()
            .map(|n| NodeSpec {
                name: n.name.clone(),
                image: NodeImage::Reference(n.image.clone()),
                memory_bytes: n
                    .memory
                    .as_deref()
                    .and_then(|m| units::parse_memory(m).ok())
                    .unwrap_or(DEFAULT_NODE_MEMORY_BYTES),
                cpus: n.cpus.unwrap_or(DEFAULT_NODE_CPUS),
                systemd: n.systemd,
                system: n.system,
                capabilities: Vec::new(),
                env: BTreeMap::new(),
            })
            .collect()
    }
}

/// Loads the Killercoda scenario in `dir`, whose `index.json` holds `text`.
pub fn load(
    id: &str,
    dir: &Path,
    text: &str,
    images: &ImageMap,
) -> (Option<Lesson>, Vec<Diagnostic>) {
    let file = dir.join("index.json");
    if let Some(d) = crate::source_map::depth_diagnostic(&file, text, false) {
        return (None, vec![d]);
    }
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default());
    let ast = match parsed {
        Ok(result) => result.value,
        Err(e) => {
            let d = Diagnostic::error(
                &file,
                e.line_display(),
                e.column_display(),
                format!("invalid JSON: {}", e.kind()),
            );
            return (None, vec![d]);
        }
    };
    let Some(ast) = ast else {
        return (
            None,
            vec![Diagnostic::error(&file, 1, 1, "index.json is empty")],
        );
    };
    let (map, json, mut diags) = SourceMap::from_json(&file, text, &ast);
    let raw: IndexFile = match serde_path_to_error::deserialize(json) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            diags.push(map.error(&path, format!("{} (at `{path}`)", e.into_inner())));
            return (None, diags);
        }
    };
    let mut r = Resolver {
        dir,
        map: &map,
        diags,
        nodes: Vec::new(),
    };
    let lesson = r.killercoda(id, raw, images);
    (Some(lesson), r.diags)
}

impl Resolver<'_> {
    fn killercoda(&mut self, id: &str, raw: IndexFile, images: &ImageMap) -> Lesson {
        let imageid = raw.backend.imageid.as_deref().unwrap_or("ubuntu");
        let (rule, known) = images.rule_or_first(imageid);
        let nodes = rule.map(ImageRule::environment).unwrap_or_default();
        let notes: Vec<String> = rule.and_then(|r| r.note.clone()).into_iter().collect();
        for note in &notes {
            self.diags
                .push(self.map.warning("backend.imageid", note.clone()));
        }
        if !known {
            let rules: Vec<&str> = images.rules.iter().map(|r| r.imageid.as_str()).collect();
            self.diags.push(
                self.map
                    .warning(
                        "backend.imageid",
                        format!(
                            "unknown backend image `{imageid}`; using `{}`",
                            rules.first().unwrap_or(&"")
                        ),
                    )
                    .with_hint(format!("known image ids: {}", rules.join(", "))),
            );
        }
        self.nodes = nodes.iter().map(|n| n.name.clone()).collect();
        let environment = Environment {
            nodes,
            internet: false,
            pki: None,
        };

        let mut setup = Vec::new();
        let intro = raw.details.intro.as_ref().and_then(|p| {
            setup.extend(self.page_scripts(p, "details.intro"));
            self.page_text(p, "details.intro")
        });
        let finish = raw
            .details
            .finish
            .as_ref()
            .and_then(|p| self.page_text(p, "details.finish"));
        let steps = raw
            .details
            .steps
            .iter()
            .enumerate()
            .map(|(i, p)| self.killercoda_step(p, i))
            .collect();
        let assets = self.killercoda_assets(&raw.details.assets);
        let difficulty =
            raw.difficulty
                .as_deref()
                .and_then(|d| match d.to_ascii_lowercase().as_str() {
                    "beginner" | "easy" => Some(Difficulty::Beginner),
                    "intermediate" | "medium" => Some(Difficulty::Intermediate),
                    "advanced" | "hard" | "expert" => Some(Difficulty::Advanced),
                    _ => None,
                });
        Lesson {
            id: id.to_owned(),
            dir: self.dir.to_owned(),
            format: LessonFormat::Killercoda,
            title: raw.title.unwrap_or_else(|| id.to_owned()),
            description: raw.description.unwrap_or_default(),
            difficulty,
            // "10 minutes" is how Killercoda writes it; humantime wants "10minutes".
            duration: raw
                .time
                .as_deref()
                .and_then(|t| units::parse_duration(&t.replace(' ', "")).ok()),
            tags: Vec::new(),
            language: DEFAULT_LANGUAGE.to_owned(),
            translations: BTreeMap::new(),
            session_ttl: None,
            environment,
            assets,
            setup,
            intro,
            finish,
            steps,
            ports: Vec::new(),
            layout: self.killercoda_layout(raw.interface.layout.as_deref()),
            traffic: None,
            editor: EditorRoot::default(),
            notes,
        }
    }

    /// `interface.layout`: playlab's layout of the same name. Killercoda's IDE is
    /// VS Code, so `vscode` is the IDE too; anything else is the terminal, with a
    /// warning.
    fn killercoda_layout(&mut self, name: Option<&str>) -> Layout {
        let Some(name) = name else {
            return Layout::Terminal;
        };
        if let Some(layout) = Layout::from_name(name) {
            return layout;
        }
        if name == "vscode" {
            return Layout::Ide;
        }
        let names: Vec<&str> = Layout::ALL.iter().map(|(_, n)| *n).collect();
        self.diags.push(
            self.map
                .warning(
                    "interface.layout",
                    format!("unknown layout `{name}`; using `terminal`"),
                )
                .with_hint(format!("the layouts are: {}", names.join(", "))),
        );
        Layout::Terminal
    }

    fn page_text(&mut self, p: &PageRef, path: &str) -> Option<Page> {
        match &p.text {
            Some(text) => self.page(text, &field(path, "text")),
            None => None,
        }
    }

    /// The background and foreground scripts of an intro or step entry.
    fn page_scripts(&mut self, p: &PageRef, path: &str) -> Vec<Script> {
        let node = self.nodes.first().cloned().unwrap_or_default();
        let entries = [
            ("courseData", &p.course_data, false),
            ("code", &p.code, true),
            ("background", &p.background, false),
            ("foreground", &p.foreground, true),
        ];
        entries
            .into_iter()
            .filter_map(|(key, file, foreground)| {
                let file = file.as_deref()?;
                let (_, run) = self.read(file, &field(path, key))?;
                Some(Script {
                    node: node.clone(),
                    run,
                    foreground,
                })
            })
            .collect()
    }

    fn killercoda_step(&mut self, p: &PageRef, i: usize) -> Step {
        let path = index("details.steps", i);
        let text = self.page_text(p, &path);
        if p.text.is_none() {
            self.error(&path, "this step has no `text` file");
        }
        let setup = self.page_scripts(p, &path);
        let checks = p
            .verify
            .as_deref()
            .and_then(|v| {
                let (_, run) = self.read(v, &field(&path, "verify"))?;
                if run.trim().is_empty() {
                    self.error(
                        &field(&path, "verify"),
                        format!("the verify script `{v}` is empty"),
                    );
                }
                Some(Check::Shell(ShellCheck {
                    node: self.nodes.first().cloned().unwrap_or_default(),
                    run,
                    fail: None,
                    timeout: DEFAULT_CHECK_TIMEOUT,
                    wait: Duration::ZERO,
                }))
            })
            .into_iter()
            .collect();
        Step {
            title: p.title.clone().unwrap_or_else(|| format!("Step {}", i + 1)),
            text: text.unwrap_or_else(|| Page {
                path: self.dir.to_owned(),
                markdown: String::new(),
            }),
            // Killercoda has no hints.
            hint: None,
            setup,
            checks,
            solve: Vec::new(),
            quiz: Vec::new(),
        }
    }

    /// `details.assets.hostN[]`: globs under `assets/` copied into node N's `target`
    /// folder. A file keeps its path below the pattern's fixed part (the folders before
    /// the first component with a wildcard): `*.sh` and `conf/*.yaml` put files right
    /// in `target`, `app*/**/*.*` puts `app1/src/main.go` at `target/app1/src/main.go`,
    /// so files of the same name in different folders never overwrite each other.
    /// `~` in `target` is root's home, where Killercoda's shells start.
    fn killercoda_assets(&mut self, hosts: &BTreeMap<String, Vec<AssetRef>>) -> Vec<Asset> {
        let mut assets = Vec::new();
        for (host, list) in hosts {
            let host_path = field("details.assets", host);
            let node = match host_node(host).and_then(|n| self.nodes.get(n)) {
                Some(node) => node.clone(),
                None => {
                    self.error(&host_path, format!(
                        "unknown host `{host}`: this environment has {} node(s), host01 to host{:02}",
                        self.nodes.len(),
                        self.nodes.len()
                    ));
                    continue;
                }
            };
            for (i, a) in list.iter().enumerate() {
                let path = index(&host_path, i);
                let file_path = field(&path, "file");
                let Some(pattern) = self.lesson_path(&a.file, &file_path) else {
                    continue;
                };
                let assets_dir = self.dir.join("assets");
                let pattern = assets_dir.join(pattern.strip_prefix(self.dir).unwrap_or(&pattern));
                let matched: Vec<PathBuf> = glob::glob(&pattern.to_string_lossy())
                    .map(|paths| {
                        paths
                            .filter_map(Result::ok)
                            .filter(|p| p.is_file())
                            .collect()
                    })
                    .unwrap_or_default();
                if matched.is_empty() {
                    self.error(
                        &file_path,
                        format!("asset `{}` not found in the `assets/` folder", a.file),
                    )
                    .hint = Some(format!(
                        "add the file as assets/{}, or remove the entry",
                        a.file
                    ));
                }
                let mode = chmod_mode(a.chmod.as_deref());
                let fixed = assets_dir.join(fixed_part(&a.file));
                let target = home(&a.target);
                for from in matched {
                    let below = from.strip_prefix(&fixed).unwrap_or(&from);
                    let below = if below.as_os_str().is_empty() {
                        // A pattern without wildcards names the file itself.
                        Path::new(from.file_name().unwrap_or_default())
                    } else {
                        below
                    };
                    let to = format!("{}/{}", target.trim_end_matches('/'), below.display());
                    assets.push(Asset {
                        node: node.clone(),
                        from,
                        to,
                        mode,
                    });
                }
            }
        }
        assets
    }
}

/// The folders of an asset pattern before its first component with a wildcard:
/// `conf/*.yaml` → `conf`, `app*/**/*.*` → nothing, `conf/app.yaml` → `conf`.
fn fixed_part(pattern: &str) -> PathBuf {
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let wild = |c: &&str| c.contains(['*', '?', '[']);
    let fixed = match components.iter().position(wild) {
        Some(first_wild) => &components[..first_wild],
        None => &components[..components.len().saturating_sub(1)],
    };
    fixed.iter().collect()
}

/// `~` and `~/x` are root's home (`/root`, `/root/x`): Killercoda's shells run as root.
fn home(target: &str) -> String {
    match target.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/root{rest}"),
        _ => target.to_owned(),
    }
}

/// `host01` → 0, `host2` → 1 (Killercoda numbers hosts from 1).
pub(crate) fn host_node(host: &str) -> Option<usize> {
    let n: usize = host
        .to_ascii_lowercase()
        .strip_prefix("host")?
        .parse()
        .ok()?;
    n.checked_sub(1)
}

/// Killercoda's `chmod` is either octal (`755`) or symbolic (`+x`, `+w`); symbolic
/// modes apply to the default `0644`.
fn chmod_mode(chmod: Option<&str>) -> u32 {
    match chmod {
        None => 0o644,
        Some(c) => units::parse_mode(c).unwrap_or(if c.contains('x') { 0o755 } else { 0o644 }),
    }
}

#[cfg(test)]
mod tests {
    use crate::{ImageMap, load_lesson};

    /// Which scripts run where: `foreground` (and Katacoda's `code`) in the learner's
    /// terminal, `background` (and `courseData`) out of sight; intro scripts belong to
    /// the lesson, a step's to the step.
    #[test]
    fn foreground_scripts_are_marked() {
        let tmp = tempfile::tempdir().unwrap();
        // A lesson's id is its folder's name, which must be URL-safe.
        let dir = tmp.path().join("scripts");
        std::fs::create_dir(&dir).unwrap();
        let files = [
            (
                "index.json",
                r#"{"title": "T", "details": {
                    "intro": {"text": "intro.md", "courseData": "bg.sh", "code": "fg.sh"},
                    "steps": [{"text": "step.md", "background": "step-bg.sh", "foreground": "step-fg.sh"}]
                }, "backend": {"imageid": "ubuntu"}}"#,
            ),
            ("intro.md", "# Intro"),
            ("step.md", "# Step"),
            ("bg.sh", "echo intro-bg"),
            ("fg.sh", "echo intro-fg"),
            ("step-bg.sh", "echo step-bg"),
            ("step-fg.sh", "echo step-fg"),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let load = load_lesson(&dir, &ImageMap::builtin(false));
        assert!(
            load.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            load.diagnostics
        );
        let lesson = load.lesson.unwrap();
        let marked = |scripts: &[crate::Script]| -> Vec<(String, bool)> {
            scripts
                .iter()
                .map(|s| (s.run.clone(), s.foreground))
                .collect()
        };
        assert_eq!(
            marked(&lesson.setup),
            [
                ("echo intro-bg".into(), false),
                ("echo intro-fg".into(), true)
            ]
        );
        assert_eq!(
            marked(&lesson.steps[0].setup),
            [
                ("echo step-bg".into(), false),
                ("echo step-fg".into(), true)
            ]
        );
    }
}
