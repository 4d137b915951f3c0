//! Data-driven lint tests: every folder under `tests/lint/` is a tiny content
//! directory (or, with a `dirs.txt`, several), and the diagnostics it produces are
//! snapshotted in `tests/snapshots/lint_fixtures__<case>.snap`. Add a case by adding a
//! folder and running `cargo insta test --accept -p scenarios` (or `INSTA_UPDATE=always`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn case_dirs(case: &Path) -> Vec<PathBuf> {
    match std::fs::read_to_string(case.join("dirs.txt")) {
        Ok(list) => list.lines().map(|l| case.join(l.trim())).collect(),
        Err(_) => vec![case.to_owned()],
    }
}

/// The lint output for one case, with paths relative to the case folder.
fn lint_case(case: &Path) -> String {
    let (lessons, diagnostics) = scenarios::lint(&case_dirs(case));
    let mut out = String::new();
    let ids: Vec<&str> = lessons.iter().map(|l| l.id.as_str()).collect();
    writeln!(out, "lessons without errors: {ids:?}").unwrap();
    // What a learner of each translation sees in the original language.
    for lesson in &lessons {
        for language in lesson.translations.keys() {
            let localized = lesson.localized(language);
            writeln!(
                out,
                "{} in {language}: untranslated {:?}, stale {:?}",
                lesson.id, localized.untranslated, localized.stale
            )
            .unwrap();
        }
    }
    for d in &diagnostics {
        writeln!(out, "{}", d.display_relative_to(case)).unwrap();
    }
    out
}

#[test]
fn every_lint_fixture_matches_its_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/lint exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() > 30,
        "expected the lint fixtures, found {}",
        cases.len()
    );
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let output = lint_case(&case);
        insta::with_settings!({ prepend_module_to_snapshot => true, description => format!("tests/lint/{name}") }, {
            insta::assert_snapshot!(name, output);
        });
    }
}

/// Fixtures named `ok`/`*-ok` (and the short PKI form) must be clean; every other
/// fixture must trigger at least one error or warning: a rule without a failing case
/// is untested.
#[test]
fn fixture_names_say_whether_they_are_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint");
    for entry in std::fs::read_dir(&root).unwrap() {
        let case = entry.unwrap().path();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let (_, diagnostics) = scenarios::lint(&case_dirs(&case));
        let clean = name == "ok"
            || name.ends_with("-ok")
            || name == "pki-short-form"
            || name == "shared-build-ok";
        assert_eq!(diagnostics.is_empty(), clean, "{name}: {diagnostics:#?}");
    }
}
