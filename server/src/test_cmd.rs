//! `playlab test [PATH...]`: self-test lessons in real environments.
//!
//! Loads the lessons under each PATH (a lesson folder or a content directory), then
//! hands each to [`runner::selftest`], one after the other (environments are heavy
//! and the point is a clear verdict, not speed), printing the table as it goes. Exits
//! non-zero when a lesson does not load or fails, or, with `--require-all`, when one
//! had to be skipped (its image cannot be obtained here, or it needs system nodes and
//! `--allow-system-nodes` was not given). Environments are always destroyed, also on
//! Ctrl-C, unless `--keep` is given.

use std::process::ExitCode;

use std::path::Path;

use anyhow::Context as _;
use playlab::catalog::Catalog;
use playlab::images;
use playlab::settings::{BackendKind, BackendSettings, LessonPaths, NodePolicy, NodeSettings};
use runner::checks::{WasmChecker, WasmLimits};
use runner::docker::{DockerBackend, Liveness, SwarmBackend, container_name};
use runner::local::LocalBackend;
use runner::selftest::{
    LessonReport, LessonResult, SelfTestOptions, render_header, render_report, test_lesson,
};
use runner::{Backend, SessionId};
use scenarios::{Lesson, NodeImage};

#[derive(clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub lessons: LessonPaths,
    /// Leave each environment running afterwards and print how to get a shell on it.
    #[arg(long)]
    pub keep: bool,
    /// Fail when a lesson has to be skipped (its image cannot be obtained here, or it
    /// needs system nodes and `--allow-system-nodes` is not given).
    #[arg(long)]
    pub require_all: bool,
    /// Test each lesson in this language (a BCP 47 tag such as `zh`): its
    /// translation's titles, pages and check messages, and the runner's own sentences,
    /// as a learner reading it gets them; the table then shows what a learner who
    /// checks a step too early is told. A lesson with no translation into it is tested
    /// in its own language, with a warning.
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    #[command(flatten)]
    pub backend: BackendSettings,
    // The node policy, as `playlab serve` takes it: test under the same ceilings and
    // with the same `--allow-system-nodes` as the server the lessons are for.
    #[command(flatten)]
    pub nodes: NodeSettings,
}

pub fn main(args: TestArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Runtime::new()
        .context("starting the async runtime")?
        .block_on(run(args))
}

async fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let nodes = NodePolicy::validate(args.nodes)?;
    if let Some(lang) = &args.lang
        && !scenarios::units::is_language_tag(lang)
    {
        anyhow::bail!("--lang {lang:?} is not a language tag: write one such as `zh` or `pt-BR`");
    }
    let (lessons, load_errors) = load(&args.lessons, nodes.system_nodes.allowed())?;
    let kind = args.backend.kind();
    // Held to the end: the record says this run's environments have a live owner.
    let (backend, _liveness) = connect(&args.backend, &nodes, &lessons).await?;
    let wasm = WasmChecker::new(WasmLimits::default())?;
    let options = SelfTestOptions {
        keep: args.keep,
        show_messages: args.lang.is_some(),
    };

    let width = lessons
        .lessons()
        .map(|l| l.id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    print!("{}", render_header(width));
    let mut reports = Vec::new();
    for lesson in lessons.lessons() {
        let localized = args.lang.as_deref().map(|lang| in_language(lesson, lang));
        let lesson = localized.as_ref().unwrap_or(lesson);
        let session = SessionId::random();
        let report = tokio::select! {
            report = test_lesson(backend.as_ref(), &wasm, lesson, &session, options) => report,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("interrupted: destroying the environment of {}", lesson.id);
                backend.destroy(&session).await.ok();
                return Ok(ExitCode::from(130));
            }
        };
        print!("{}", render_report(&report, width));
        if report.kept {
            print_shell_hint(&report, kind);
        }
        reports.push(report);
    }
    Ok(summarize(&reports, load_errors, args.require_all))
}

/// `lesson` as a learner reading it in `lang` gets it, warning about what is not in
/// `lang` (`playlab lint` says where).
fn in_language(lesson: &Lesson, lang: &str) -> Lesson {
    let localized = lesson.localized(lang);
    if localized.lesson.language != lang {
        eprintln!(
            "warning: {} has no `{lang}` translation: tested in `{}`",
            lesson.id, lesson.language
        );
    } else if !localized.untranslated.is_empty() {
        eprintln!(
            "warning: {}: not translated into `{lang}`: {}",
            lesson.id,
            localized.untranslated.join(", ")
        );
    }
    localized.lesson
}

/// The lessons that loaded, printing the errors of those that did not, and how many
/// errors there were; none to test at all is an error.
fn load(paths: &LessonPaths, system_nodes: bool) -> anyhow::Result<(Catalog, usize)> {
    let (lessons, diagnostics) = paths.load(system_nodes)?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    for d in &errors {
        eprintln!("{}", d.display_relative_to(&cwd));
    }
    if lessons.is_empty() {
        anyhow::bail!(
            "no lesson to test under {} ({} error(s) while loading)",
            paths.describe(),
            errors.len()
        );
    }
    Ok((lessons, errors.len()))
}

/// The backend (and, for Docker and Swarm, its liveness record), after building the built-in
/// images the lessons name (from `content/images/`, as `serve` does); for Docker, also
/// after saying what the host supports when a lesson has a system node.
async fn connect(
    settings: &BackendSettings,
    nodes: &NodePolicy,
    lessons: &Catalog,
) -> anyhow::Result<(Box<dyn Backend>, Option<Liveness>)> {
    let named = |tag: &str| {
        let reference = NodeImage::Reference(tag.to_owned());
        lessons
            .lessons()
            .any(|l| l.environment.nodes.iter().any(|n| n.image == reference))
    };
    let report = |outcome: Result<String, String>| match outcome {
        Ok(ready) => eprintln!("{ready}"),
        Err(failed) => eprintln!("warning: {failed}"),
    };
    Ok(match settings.kind() {
        BackendKind::Docker => {
            // An owner of its own, with a liveness record for as long as the test runs:
            // a killed `playlab test` leaves environments that `playlab gc` finds.
            let owner = format!("test-{}", SessionId::random());
            let backend = DockerBackend::connect(nodes.docker_config(Some(owner)))
                .await
                .context("playlab test needs a running Docker engine (see .ci/setup-machine)")?;
            let liveness = backend
                .hold_liveness()
                .await
                .context("making the test's liveness record")?;
            // The probe starts containers: worth its seconds only where a lesson
            // has a system node, whose fate it explains.
            let system = lessons
                .lessons()
                .any(|l| l.environment.nodes.iter().any(|n| n.system));
            if system {
                eprintln!(
                    "system nodes: {:?}; host: {}",
                    nodes.system_nodes,
                    backend.host_support().await
                );
            }
            images::build_built_in(backend.images(), Path::new("content/images"), named, report)
                .await;
            (Box::new(backend), liveness)
        }
        BackendKind::Swarm => {
            let owner = format!("test-{}", SessionId::random());
            let backend = SwarmBackend::connect(
                nodes.docker_config(Some(owner)),
                settings.swarm_options()?,
            )
            .await
            .context(
                "playlab test --backend swarm needs DOCKER_HOST to name a swarm manager's engine",
            )?;
            let liveness = backend
                .hold_liveness()
                .await
                .context("making the test's liveness record on the manager")?;
            images::build_built_in(backend.images(), Path::new("content/images"), named, report)
                .await;
            (Box::new(backend), liveness)
        }
        BackendKind::Local => {
            eprintln!(
                "warning: the local backend runs every node as a shell on this machine, with no isolation"
            );
            (
                Box::new(LocalBackend::new().context("setting up the local backend")?),
                None,
            )
        }
    })
}

/// Prints the totals and decides the exit status.
fn summarize(reports: &[LessonReport], load_errors: usize, require_all: bool) -> ExitCode {
    let count = |f: fn(&LessonResult) -> bool| reports.iter().filter(|r| f(&r.result)).count();
    let passed = count(|r| matches!(r, LessonResult::Passed));
    let failed = count(|r| matches!(r, LessonResult::Failed { .. }));
    let skipped = count(|r| matches!(r, LessonResult::Skipped { .. }));
    println!(
        "\n{passed} passed, {failed} failed, {skipped} skipped{}",
        if load_errors > 0 {
            format!(", {load_errors} load error(s)")
        } else {
            String::new()
        }
    );
    if skipped > 0 && require_all {
        println!("--require-all: skipped lessons count as failures");
    }
    let ok = failed == 0 && load_errors == 0 && (skipped == 0 || !require_all);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_shell_hint(report: &LessonReport, backend: BackendKind) {
    if backend == BackendKind::Local {
        println!(
            "  {}: environment kept while this process runs; local nodes end with it",
            report.lesson
        );
        return;
    }
    println!(
        "  {}: environment kept (remove it with `docker rm -f` on these); a shell on each node:",
        report.lesson
    );
    for node in &report.nodes {
        println!(
            "    docker exec -it {} bash",
            container_name(&report.session, node)
        );
    }
}
