//! Checks that need a whole resolved lesson rather than one file entry: the action
//! markers in every page (known node, understood syntax), and the traffic markers in
//! pages and scripts (well-formed, naming a node the lesson has).

use std::path::Path;

use crate::diagnostic::{Diagnostic, did_you_mean, line_col};
use crate::model::{Check, Lesson, LessonFormat, Page};
use crate::render;
use crate::traffic::{self, Found, TrafficMarker};

/// Diagnostics for the Markdown pages of `lesson`.
pub(crate) fn lint_pages(lesson: &Lesson) -> Vec<Diagnostic> {
    let nodes = lesson.environment.node_names();
    let mut diags = Vec::new();
    for (_, page) in lesson.pages() {
        lint_page(page, &nodes, &mut diags);
        for found in render::traffic_markers(&page.markdown, &nodes) {
            let (line, col) = line_col(&page.markdown, found.offset);
            if let Some(d) = traffic_problem(&found, &nodes, &page.path, line, col) {
                diags.push(d);
            }
        }
    }
    lint_script_traffic(lesson, &nodes, &mut diags);
    diags
}

/// Scripts keep no place in their file once read, so their markers' problems point at
/// the lesson's own file.
fn lint_script_traffic(lesson: &Lesson, nodes: &[String], diags: &mut Vec<Diagnostic>) {
    let file = lesson.dir.join(match lesson.format {
        LessonFormat::Native => "lesson.yaml",
        LessonFormat::Killercoda => "index.json",
    });
    let mut scripts: Vec<&str> = lesson.setup.iter().map(|s| s.run.as_str()).collect();
    for step in &lesson.steps {
        scripts.extend(step.setup.iter().chain(&step.solve).map(|s| s.run.as_str()));
        for check in &step.checks {
            match check {
                Check::Shell(c) => scripts.push(&c.run),
                Check::Wasm(c) => scripts.extend(c.probes.iter().map(|p| p.run.as_str())),
            }
        }
    }
    for script in scripts {
        for found in traffic::find(script) {
            if let Some(d) = traffic_problem(&found, nodes, &file, 1, 1) {
                diags.push(d.with_hint("it is left as written in the script"));
            }
        }
    }
}

/// Why a traffic marker cannot become a link, as a warning: the page still works.
fn traffic_problem(
    found: &Found,
    nodes: &[String],
    path: &Path,
    line: usize,
    col: usize,
) -> Option<Diagnostic> {
    let message = match found.marker {
        Err(ref message) => message.clone(),
        Ok(TrafficMarker::Host { host, .. }) if host > nodes.len() => format!(
            "`{{{{TRAFFIC_HOST{host}_…}}}}` names node {host}, but the lesson has {}: {}",
            nodes.len(),
            nodes.join(", ")
        ),
        Ok(_) => return None,
    };
    Some(Diagnostic::warning(path, line, col, message))
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
