//! The Killercoda corpus (`tests/corpus/`, copied from `shared/corpus/killercoda` with
//! its licences): every scenario must load into a lesson, and what it loads into is
//! snapshotted, so a change in the importer shows up as a readable diff.

use std::fmt::Write;
use std::path::Path;

use scenarios::{Check, ImageMap, NodeImage, load_lesson};

fn summary(dir: &Path) -> String {
    let load = load_lesson(dir, &ImageMap::builtin(false));
    let mut out = String::new();
    for d in &load.diagnostics {
        writeln!(out, "{}", d.display_relative_to(dir.parent().unwrap())).unwrap();
    }
    let lesson = load
        .lesson
        .unwrap_or_else(|| panic!("{} did not load: {:#?}", dir.display(), load.diagnostics));
    writeln!(out, "title: {}", lesson.title).unwrap();
    writeln!(
        out,
        "difficulty: {:?}, duration: {:?}",
        lesson.difficulty, lesson.duration
    )
    .unwrap();
    for n in &lesson.environment.nodes {
        let NodeImage::Reference(image) = &n.image else {
            panic!("Killercoda nodes use images")
        };
        writeln!(
            out,
            "node {} image {image} systemd {} system {} memory {} cpus {}",
            n.name, n.systemd, n.system, n.memory_bytes, n.cpus
        )
        .unwrap();
    }
    for note in &lesson.notes {
        writeln!(out, "note: {note}").unwrap();
    }
    for a in &lesson.assets {
        let from = a.from.strip_prefix(dir).unwrap();
        writeln!(
            out,
            "asset {} -> {}:{} mode {:o}",
            from.display(),
            a.node,
            a.to,
            a.mode
        )
        .unwrap();
    }
    for s in &lesson.setup {
        writeln!(
            out,
            "setup on {} foreground {} ({} bytes)",
            s.node,
            s.foreground,
            s.run.len()
        )
        .unwrap();
    }
    writeln!(out, "layout: {}", lesson.layout.as_str()).unwrap();
    writeln!(out, "intro: {}", lesson.intro.is_some()).unwrap();
    for (i, step) in lesson.steps.iter().enumerate() {
        let checks: Vec<String> = step
            .checks
            .iter()
            .map(|c| match c {
                Check::Shell(c) => format!("shell on {} ({} bytes)", c.node, c.run.len()),
                Check::Wasm(_) => "wasm".into(),
            })
            .collect();
        writeln!(
            out,
            "step {}: {:?} text {} bytes, setup {}, checks {checks:?}",
            i + 1,
            step.title,
            step.text.markdown.len(),
            step.setup.len()
        )
        .unwrap();
    }
    writeln!(out, "finish: {}", lesson.finish.is_some()).unwrap();
    out
}

#[test]
fn every_corpus_scenario_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("index.json").is_file())
        .collect();
    dirs.sort();
    // Eight real scenarios (SOURCE.md) and two of playlab's own making.
    assert_eq!(dirs.len(), 10, "the corpus has ten scenarios");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(name.clone(), summary(&dir));
    }
}

/// The two documented quirks get clear diagnostics.
#[test]
fn corpus_quirks_are_reported() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let (_, diags) = scenarios::lint(&[&root]);
    let text: Vec<String> = diags
        .iter()
        .map(|d| d.display_relative_to(&root).to_string())
        .collect();
    assert!(
        text.iter()
            .any(|d| d.starts_with("deployment/index.json:60:5: warning: duplicate key `imageid`")),
        "{text:#?}"
    );
    for missing in ["non-compliant-deployment.yaml", "compliance-checklist.yaml"] {
        assert!(
            text.iter()
                .any(|d| d.starts_with("kubernetes-fedramp-audit/index.json:")
                    && d.contains(missing)),
            "{missing}: {text:#?}"
        );
    }
}
