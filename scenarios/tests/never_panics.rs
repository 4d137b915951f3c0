//! Property tests: whatever is in a lesson folder, loading and linting it returns
//! diagnostics and never panics. Inputs are random text and random edits of the
//! valid fixtures (so most cases get past the parser and exercise resolution).

use std::path::Path;

use proptest::prelude::*;
use scenarios::{ImageMap, load_lesson, render::render};

/// Copies a fixture lesson into a fresh temporary folder.
fn copy_fixture(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_fixture(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lint")
        .join(rel)
}

/// One edit of a text: delete, insert or duplicate a slice.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Characters that matter to YAML, JSON and Markdown, plus anything.
    let piece = prop_oneof![
        "[-:{}\\[\\],'\"|>&*!%@#`\\n ]{1,4}",
        "[a-z0-9_]{1,8}",
        any::<String>(),
        Just("{{exec}}".to_owned()),
        Just("\n  - ".to_owned()),
        Just("node: nope".to_owned()),
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), piece).prop_map(|(a, s)| Edit::Insert(a, s)),
        (any::<usize>(), 0usize..80).prop_map(|(a, n)| Edit::Duplicate(a, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let len = chars.len().max(1);
        match e {
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Edit::Insert(at, s) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, s.chars());
            }
            Edit::Duplicate(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end {
                    let copy: Vec<char> = chars[at..end].to_vec();
                    chars.splice(end..end, copy);
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Loads `fixture` with its main file replaced by `text`; returns the diagnostics.
fn load_with(fixture_dir: &Path, file: &str, text: &str) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lesson");
    std::fs::create_dir(&dir).unwrap();
    copy_fixture(fixture_dir, &dir);
    std::fs::write(dir.join(file), text).unwrap();
    let load = load_lesson(&dir, &ImageMap::builtin(false));
    // A lesson that did not load always says why.
    assert!(load.lesson.is_some() || !load.diagnostics.is_empty());
    for d in &load.diagnostics {
        assert!(d.line >= 1 && d.col >= 1, "{d}");
    }
    load.diagnostics.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_lesson_yaml_never_panics(edits in proptest::collection::vec(edit(), 1..6)) {
        let dir = fixture("ok/everything");
        let text = std::fs::read_to_string(dir.join("lesson.yaml")).unwrap();
        load_with(&dir, "lesson.yaml", &apply(&text, &edits));
    }

    #[test]
    fn mutated_index_json_never_panics(edits in proptest::collection::vec(edit(), 1..6)) {
        let dir = fixture("killercoda-ok/scenario");
        let text = std::fs::read_to_string(dir.join("index.json")).unwrap();
        load_with(&dir, "index.json", &apply(&text, &edits));
    }

    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        load_with(&fixture("ok/everything"), "lesson.yaml", &text);
        load_with(&fixture("killercoda-ok/scenario"), "index.json", &text);
    }

    #[test]
    fn mutated_markdown_never_panics(edits in proptest::collection::vec(edit(), 1..8)) {
        let dir = fixture("ok/everything");
        let text = std::fs::read_to_string(dir.join("step1.md")).unwrap();
        let page = apply(&text, &edits);
        let nodes = vec!["controlplane".to_owned(), "node01".to_owned()];
        render(&page, &nodes);
        load_with(&dir, "step1.md", &page);
    }
}

/// The mutation strategy really reaches the resolver: unmutated fixtures load cleanly
/// and a targeted edit produces a semantic (not a parse) diagnostic.
#[test]
fn mutations_reach_semantic_checks() {
    let dir = fixture("ok/everything");
    let text = std::fs::read_to_string(dir.join("lesson.yaml")).unwrap();
    assert_eq!(load_with(&dir, "lesson.yaml", &text), 0);
    let broken = text.replace(
        "node: node01\n        run: test -f",
        "node: nope\n        run: test -f",
    );
    assert_ne!(broken, text);
    assert_eq!(load_with(&dir, "lesson.yaml", &broken), 1);
}

/// Deeply nested documents are a classic way to overflow a recursive parser's stack
/// (an abort, which no `catch_unwind` can turn into a diagnostic).
#[test]
fn deep_nesting_is_a_diagnostic() {
    // Just inside the limits: must be parsed (and fail for ordinary reasons) without
    // overflowing a test thread's 2 MiB stack.
    let max = scenarios::source_map::MAX_DEPTH;
    let yaml = format!("title: {}{}", "[".repeat(max), "]".repeat(max));
    assert!(load_with(&fixture("ok/everything"), "lesson.yaml", &yaml) > 0);
    let json = format!(
        "{{\"details\": {}{}}}",
        "[".repeat(max - 1),
        "]".repeat(max - 1)
    );
    assert!(load_with(&fixture("killercoda-ok/scenario"), "index.json", &json) > 0);
    let levels = scenarios::source_map::MAX_INDENT - 1;
    let yaml_block: String = (0..levels)
        .map(|i| format!("{}a{i}:\n", " ".repeat(i)))
        .collect();
    assert!(load_with(&fixture("ok/everything"), "lesson.yaml", &yaml_block) > 0);
    let dashes = format!("steps:\n{} x\n", "- ".repeat(levels / 2));
    assert!(load_with(&fixture("ok/everything"), "lesson.yaml", &dashes) > 0);
    // Far past them: refused with a diagnostic.
    for depth in [1_000, 100_000] {
        let yaml = format!("title: {}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(load_with(&fixture("ok/everything"), "lesson.yaml", &yaml) > 0);
        let json = format!(
            "{{\"details\": {}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(load_with(&fixture("killercoda-ok/scenario"), "index.json", &json) > 0);
        let yaml_block = format!(
            "title:\n{}",
            (0..depth.min(5_000))
                .map(|i| format!("{}a{i}:\n", " ".repeat(i)))
                .collect::<String>()
        );
        assert!(load_with(&fixture("ok/everything"), "lesson.yaml", &yaml_block) > 0);
    }
}

#[test]
fn deeply_nested_markdown_renders() {
    let nodes = vec!["node01".to_owned()];
    for depth in [1_000, 50_000] {
        render(&">".repeat(depth), &nodes);
        render(&"- ".repeat(depth), &nodes);
        render(&"[".repeat(depth), &nodes);
        render(&"*a".repeat(depth), &nodes);
    }
}
