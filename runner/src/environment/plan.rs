//! [`Plan`]: a lesson checked to start here, with its files and setup scripts.

use std::collections::BTreeMap;

use scenarios::{Lesson, NodeSpec, Script};

use crate::backend::NodeInfo;
use crate::environment::file::NodeFile;
use crate::error::RunnerError;
use crate::pki::{ClusterIdentity, ClusterNode, kubernetes_pki};

/// A lesson's environment as every backend carries it out. Only [`Plan::new`] makes
/// one, so a backend holding a plan holds a lesson that passed the checks.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    lesson: &'a Lesson,
}

impl<'a> Plan<'a> {
    /// Checks `lesson` before anything is created or built: every node name is a DNS
    /// label (it becomes a hostname and part of container and folder names), there is
    /// a node, and no node is a system node unless `allow_system_nodes` (then a lesson this
    /// host may not run costs no image build).
    pub fn new(lesson: &'a Lesson, allow_system_nodes: bool) -> Result<Plan<'a>, RunnerError> {
        let nodes = &lesson.environment.nodes;
        if let Some(bad) = nodes
            .iter()
            .find(|n| !scenarios::units::is_dns_label(&n.name))
        {
            return Err(RunnerError::InvalidNodeName {
                lesson: lesson.id.clone(),
                node: bad.name.clone(),
            });
        }
        if nodes.is_empty() {
            return Err(RunnerError::NoNodes {
                lesson: lesson.id.clone(),
            });
        }
        if let Some(node) = nodes.iter().find(|n| n.system && !allow_system_nodes) {
            return Err(RunnerError::SystemNodeNotAllowed {
                node: node.name.clone(),
            });
        }
        Ok(Plan { lesson })
    }

    pub fn lesson(&self) -> &'a Lesson {
        self.lesson
    }

    /// The nodes to create, in environment order.
    pub fn nodes(&self) -> &'a [NodeSpec] {
        &self.lesson.environment.nodes
    }

    /// The files each node receives: the lesson's assets, read from disk, the web
    /// ports' URLs when the session has them ([`traffic_files`]), then the session PKI
    /// when the lesson has one. The PKI is issued for `nodes`, the nodes as created,
    /// because their addresses go into the certificates.
    pub async fn files(
        &self,
        nodes: &[NodeInfo],
    ) -> Result<BTreeMap<String, Vec<NodeFile>>, RunnerError> {
        let mut files = asset_files(self.lesson).await?;
        for (node, traffic) in traffic_files(self.lesson) {
            files.entry(node).or_default().extend(traffic);
        }
        if let Some(scenarios::Pki::Kubernetes { short_lived }) = &self.lesson.environment.pki {
            let cluster = ClusterIdentity {
                nodes: nodes
                    .iter()
                    .map(|n| {
                        let ip = n.address.as_deref().and_then(|a| a.parse().ok());
                        ClusterNode::new(&n.name, ip)
                    })
                    .collect(),
            };
            for (node, pki_files) in kubernetes_pki(&cluster, short_lived)?.nodes() {
                files
                    .entry(node.to_owned())
                    .or_default()
                    .extend_from_slice(pki_files);
            }
        }
        Ok(files)
    }
}

/// Where a session's web ports are, in files every node gets, for scripts that print
/// links: `/etc/killercoda/host`, Killercoda's, is the node's own URL with the word
/// `PORT` where the port goes; `/etc/playlab/ports` has a line `NODE URL` (`PORT`
/// likewise) for each node of the environment. None when the lesson has no URLs (it
/// was not started for a session whose server knows them).
fn traffic_files(lesson: &Lesson) -> BTreeMap<String, Vec<NodeFile>> {
    let Some(urls) = &lesson.traffic else {
        return BTreeMap::new();
    };
    let names = lesson.environment.node_names();
    let all: String = names
        .iter()
        .map(|n| format!("{n} {}\n", urls.port_url(n, "PORT")))
        .collect();
    let file = |path: &str, contents: String| NodeFile {
        path: path.to_owned(),
        contents: contents.into_bytes(),
        mode: 0o644,
    };
    names
        .iter()
        .map(|n| {
            let own = format!("{}\n", urls.port_url(n, "PORT"));
            let files = vec![
                file("/etc/killercoda/host", own),
                file("/etc/playlab/ports", all.clone()),
            ];
            (n.clone(), files)
        })
        .collect()
}

/// The lesson's setup scripts that a backend runs while the environment starts, in
/// order.
pub(crate) fn background_setup(lesson: &Lesson) -> impl Iterator<Item = &Script> + Send {
    lesson.setup.iter().filter(|s| !s.foreground)
}

/// The lesson's foreground setup scripts, in order: typed in the learner's terminal
/// once the session is ready (so a backend never runs them while starting).
pub(crate) fn foreground_setup(lesson: &Lesson) -> impl Iterator<Item = &Script> + Send {
    lesson.setup.iter().filter(|s| s.foreground)
}

/// The scripts that run when a learner reaches a page, split by where they run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageScripts {
    /// Typed into their node's terminal, in order, where the learner watches them.
    pub typed: Vec<Script>,
    /// Run out of sight, in order.
    pub hidden: Vec<Script>,
}

impl PageScripts {
    /// What runs when the environment has just become ready and the learner lands on
    /// the first step: the lesson's foreground setup (its background setup already
    /// ran while the environment started), then the first step's setup.
    pub fn on_ready(lesson: &Lesson) -> PageScripts {
        PageScripts::split(foreground_setup(lesson).chain(step_setup(lesson, 0)))
    }

    /// What runs when the learner moves on to step `step` (counting from 0): its setup.
    pub fn of_step(lesson: &Lesson, step: usize) -> PageScripts {
        PageScripts::split(step_setup(lesson, step))
    }

    fn split<'s>(scripts: impl Iterator<Item = &'s Script>) -> PageScripts {
        let (typed, hidden) = scripts.cloned().partition(|s| s.foreground);
        PageScripts { typed, hidden }
    }
}

/// What brings a fresh environment to the start of step `step` (a reset that keeps
/// the learner's place): every page's scripts before it, the intro's foreground setup
/// included, each followed by its step's solution, in order and all out of sight; the
/// step's own page scripts then run as on arrival ([`PageScripts::of_step`]). A step
/// before it that checks the environment but has no `solve` cannot be redone, and
/// neither can the reset: the error names the step.
pub fn replay_to(lesson: &Lesson, step: usize) -> Result<Vec<Script>, RunnerError> {
    let steps = &lesson.steps[..step.min(lesson.steps.len())];
    if let Some((index, unsolved)) = steps
        .iter()
        .enumerate()
        .find(|(_, s)| !s.checks.is_empty() && s.solve.is_empty())
    {
        return Err(RunnerError::CannotReplay {
            step: index + 1,
            title: unsolved.title.clone(),
        });
    }
    let intro = if steps.is_empty() {
        None
    } else {
        Some(foreground_setup(lesson))
    };
    Ok(intro
        .into_iter()
        .flatten()
        .chain(steps.iter().flat_map(|s| s.setup.iter().chain(&s.solve)))
        .cloned()
        .collect())
}

/// Step `step`'s setup scripts; none past the last step.
fn step_setup(lesson: &Lesson, step: usize) -> impl Iterator<Item = &Script> {
    lesson.steps.get(step).into_iter().flat_map(|s| &s.setup)
}

/// The lesson's assets, read from disk and grouped by node.
async fn asset_files(lesson: &Lesson) -> Result<BTreeMap<String, Vec<NodeFile>>, RunnerError> {
    let mut files: BTreeMap<String, Vec<NodeFile>> = BTreeMap::new();
    for asset in &lesson.assets {
        let contents = tokio::fs::read(&asset.from)
            .await
            .map_err(RunnerError::io(format!(
                "reading asset {}",
                asset.from.display()
            )))?;
        files.entry(asset.node.clone()).or_default().push(NodeFile {
            path: asset.to.clone(),
            contents,
            mode: asset.mode,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenarios::{Environment, NodeImage};

    fn lesson(names: &[&str], system: bool) -> Lesson {
        let nodes = names
            .iter()
            .map(|name| {
                let mut spec = NodeSpec::new(*name, NodeImage::Reference("x".to_owned()));
                spec.system = system;
                spec
            })
            .collect();
        Lesson::with_environment("t", "/", Environment::new(nodes))
    }

    #[test]
    fn checks_refuse_what_no_backend_can_start() {
        let refused = |l: &Lesson, allow: bool| Plan::new(l, allow).unwrap_err().to_string();
        assert!(refused(&lesson(&[], false), true).contains("has no nodes"));
        assert!(refused(&lesson(&["Bad_Name"], false), true).contains("not a DNS label"));
        assert!(refused(&lesson(&["../x"], false), true).contains("not a DNS label"));
        assert!(refused(&lesson(&["node01"], true), false).contains("is a system node"));
        assert!(Plan::new(&lesson(&["node01"], true), true).is_ok());
        assert!(Plan::new(&lesson(&["node01", "web-1"], false), false).is_ok());
    }

    #[test]
    fn every_node_knows_where_the_web_ports_are() {
        let plain = lesson(&["a", "b"], false);
        assert!(traffic_files(&plain).is_empty(), "no URLs, no files");
        let urls = scenarios::TrafficUrls {
            template: "http://h/ports/s/{node}/{port}/".into(),
            selector: "http://h/ports/s/".into(),
        };
        let files = traffic_files(&plain.with_traffic(&urls));
        let text =
            |node: &str, i: usize| String::from_utf8(files[node][i].contents.clone()).unwrap();
        assert_eq!(files["b"][0].path, "/etc/killercoda/host");
        assert_eq!(text("b", 0), "http://h/ports/s/b/PORT/\n");
        assert_eq!(files["a"][1].path, "/etc/playlab/ports");
        let all = "a http://h/ports/s/a/PORT/\nb http://h/ports/s/b/PORT/\n";
        assert_eq!((text("a", 1).as_str(), text("b", 1).as_str()), (all, all));
    }

    #[test]
    fn a_reset_replays_every_earlier_page_and_solution_unless_one_has_none() {
        let script = |run: &str, foreground| Script {
            node: "node01".to_owned(),
            run: run.to_owned(),
            foreground,
        };
        let step =
            |title: &str, setup: Vec<Script>, checked: bool, solve: Vec<Script>| scenarios::Step {
                title: title.to_owned(),
                text: scenarios::Page {
                    path: Default::default(),
                    markdown: String::new(),
                },
                hint: None,
                setup,
                checks: if checked {
                    vec![scenarios::Check::Shell(scenarios::ShellCheck {
                        node: "node01".to_owned(),
                        run: "true".to_owned(),
                        fail: None,
                        timeout: scenarios::DEFAULT_CHECK_TIMEOUT,
                        wait: std::time::Duration::ZERO,
                    })]
                } else {
                    Vec::new()
                },
                solve,
                quiz: Vec::new(),
            };
        let mut l = lesson(&["node01"], false);
        l.setup = vec![script("background", false), script("intro", true)];
        l.steps = vec![
            step(
                "one",
                vec![script("s1-setup", true)],
                true,
                vec![script("s1-solve", false)],
            ),
            step("quiz only", vec![], false, vec![]),
            step("three", vec![script("s3-setup", false)], true, vec![]),
            step("four", vec![], true, vec![script("s4-solve", false)]),
        ];
        let runs = |s: Vec<Script>| s.into_iter().map(|s| s.run).collect::<Vec<_>>();
        assert_eq!(
            runs(replay_to(&l, 0).unwrap()),
            Vec::<String>::new(),
            "the start is a fresh start"
        );
        assert_eq!(
            runs(replay_to(&l, 1).unwrap()),
            ["intro", "s1-setup", "s1-solve"]
        );
        assert_eq!(
            runs(replay_to(&l, 2).unwrap()),
            ["intro", "s1-setup", "s1-solve"]
        );
        for past_three in [3, 4] {
            let refused = replay_to(&l, past_three).unwrap_err().to_string();
            assert!(
                refused.contains("step 3 (three)") && refused.contains("no solve"),
                "{refused}"
            );
        }
    }

    #[test]
    fn setup_scripts_split_by_foreground_in_order() {
        let mut l = lesson(&["node01"], false);
        for (run, foreground) in [("a", false), ("b", true), ("c", false), ("d", true)] {
            l.setup.push(Script {
                node: "node01".to_owned(),
                run: run.to_owned(),
                foreground,
            });
        }
        let runs = |s: Vec<&Script>| s.iter().map(|s| s.run.clone()).collect::<Vec<_>>();
        assert_eq!(runs(background_setup(&l).collect()), ["a", "c"]);
        assert_eq!(runs(foreground_setup(&l).collect()), ["b", "d"]);
    }

    #[test]
    fn a_page_starts_its_scripts_and_becoming_ready_the_intro_too() {
        let script = |run: &str, foreground| Script {
            node: "node01".to_owned(),
            run: run.to_owned(),
            foreground,
        };
        let step = |setup: Vec<Script>| scenarios::Step {
            title: String::new(),
            text: scenarios::Page {
                path: Default::default(),
                markdown: String::new(),
            },
            hint: None,
            setup,
            checks: Vec::new(),
            solve: Vec::new(),
            quiz: Vec::new(),
        };
        let mut l = lesson(&["node01"], false);
        l.setup = vec![script("background", false), script("intro", true)];
        l.steps = vec![
            step(vec![script("s1-hidden", false), script("s1-typed", true)]),
            step(vec![script("s2-hidden", false)]),
        ];
        let runs = |s: &[Script]| s.iter().map(|s| s.run.clone()).collect::<Vec<_>>();
        let ready = PageScripts::on_ready(&l);
        assert_eq!(runs(&ready.typed), ["intro", "s1-typed"]);
        assert_eq!(runs(&ready.hidden), ["s1-hidden"]);
        let first = PageScripts::of_step(&l, 0);
        assert_eq!(
            runs(&first.typed),
            ["s1-typed"],
            "no intro without becoming ready"
        );
        assert_eq!(runs(&first.hidden), ["s1-hidden"]);
        let second = PageScripts::of_step(&l, 1);
        assert!(second.typed.is_empty());
        assert_eq!(runs(&second.hidden), ["s2-hidden"]);
        assert_eq!(PageScripts::of_step(&l, 2), PageScripts::default());
    }
}
