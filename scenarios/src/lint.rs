//! Checks that need a whole resolved lesson rather than one file entry: the action
//! markers in every page (known node, understood syntax).

use crate::diagnostic::{Diagnostic, did_you_mean, line_col};
use crate::model::{Lesson, Page};
use crate::render;

/// Diagnostics for the Markdown pages of `lesson`.
pub(crate) fn lint_pages(lesson: &Lesson) -> Vec<Diagnostic> {
    let nodes = lesson.environment.node_names();
    let mut diags = Vec::new();
    for (_, page) in lesson.pages() {
        lint_page(page, &nodes, &mut diags);
    }
    diags
}

fn lint_page(page: &Page, nodes: &[String], diags: &mut Vec<Diagnostic>) {
    for marker in render::actions(&page.markdown, nodes) {
        let (line, col) = line_col(&page.markdown, marker.offset);
        match marker.action {
            Err(message) => diags.push(Diagnostic::error(&page.path, line, col, message)),
            Ok(action) => {
                if let Some(node) = action.node.filter(|n| !nodes.contains(n)) {
                    let hint = did_you_mean(&node, nodes.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("the nodes are: {}", nodes.join(", ")));
                    diags.push(
                        Diagnostic::error(&page.path, line, col, format!("unknown node `{node}`"))
                            .with_hint(hint),
                    );
                }
            }
        }
    }
}
