//! Rendering tests: each `tests/render/*.md` page is rendered for a two-node
//! environment (`controlplane`, `node01`) and the HTML snapshotted; every corpus page
//! renders with all of its Killercoda markers turned into markup.

use std::path::{Path, PathBuf};

use scenarios::render::render;

fn nodes() -> Vec<String> {
    vec!["controlplane".into(), "node01".into()]
}

#[test]
fn render_fixtures_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert!(pages.len() >= 4);
    for page in pages {
        let name = page.file_stem().unwrap().to_string_lossy().into_owned();
        let markdown = std::fs::read_to_string(&page).unwrap();
        insta::assert_snapshot!(name, render(&markdown, &nodes()));
    }
}

#[test]
fn raw_html_never_reaches_the_page() {
    let html = render(
        "<script>alert(1)</script>\n\nx <img src=x onerror=y>\n",
        &nodes(),
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

/// Every `{{exec…}}`/`{{copy}}` marker in the corpus becomes one `data-action`
/// element, and none is left as text.
#[test]
fn corpus_markers_all_become_actions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let (mut pages, mut actions) = (0, 0);
    // Lesson pages only: the corpus's own SOURCE.md quotes the markers as examples.
    let lesson_pages = walk(&root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md") && p.parent() != Some(root.as_path()));
    for md in lesson_pages {
        let text = std::fs::read_to_string(&md).unwrap();
        // "{{exec" also counts "{{execute".
        let expected = text.matches("{{exec").count() + text.matches("{{copy").count();
        let html = render(&text, &nodes());
        let found = html.matches("data-action=").count();
        assert_eq!(found, expected, "{}:\n{html}", md.display());
        assert!(
            !html.contains("{{exec") && !html.contains("{{copy"),
            "{}",
            md.display()
        );
        pages += 1;
        actions += found;
    }
    assert!(
        pages > 40 && actions > 150,
        "{pages} pages, {actions} actions"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}
