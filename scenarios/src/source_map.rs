//! Where each value of a parsed `lesson.yaml` or `index.json` came from.
//!
//! The loaders deserialize into plain serde types (so the JSON Schema and the Rust
//! types stay one thing), then validate the result. Problems found after
//! deserialization still need an exact `line:col`, so while parsing we record the
//! position of every key and value under its *path* (`steps[0].check[1].node`, the
//! notation `serde_path_to_error` uses for deserialization errors too) and look paths
//! up when reporting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonc_parser::ast;
use marked_yaml::Node;

use crate::diagnostic::{Diagnostic, line_col};

/// A 1-based line and column.
pub type Pos = (usize, usize);

/// Path → position of the value (and of the key, for mapping entries) in one file.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    file: PathBuf,
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

/// The path of field `name` inside the value at `parent`.
pub fn field(parent: &str, name: &str) -> String {
    if parent == "." {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The path of element `index` inside the sequence at `parent`.
pub fn index(parent: &str, index: usize) -> String {
    if parent == "." {
        format!("[{index}]")
    } else {
        format!("{parent}[{index}]")
    }
}

/// The path one level up, or `None` at the root (`.`).
fn parent(path: &str) -> Option<&str> {
    if path == "." || path.is_empty() {
        return None;
    }
    let cut = if path.ends_with(']') {
        path.rfind('[')
    } else {
        // A key may itself contain dots (`env.A.B` is fine for a lookup fallback: we
        // just land one level too high).
        path.rfind('.')
    };
    Some(match cut {
        Some(0) | None => ".",
        Some(i) => &path[..i],
    })
}

impl SourceMap {
    /// An empty map for `file`: every lookup answers `1:1`.
    pub fn empty(file: impl Into<PathBuf>) -> Self {
        SourceMap {
            file: file.into(),
            ..Default::default()
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Position of the value at `path`, or of its nearest recorded ancestor.
    pub fn value(&self, path: &str) -> Pos {
        self.lookup(&self.values, path)
    }

    /// Position of the key that introduces `path` (falls back to the value's position).
    pub fn key(&self, path: &str) -> Pos {
        match self.keys.get(path) {
            Some(pos) => *pos,
            None => self.value(path),
        }
    }

    fn lookup(&self, map: &HashMap<String, Pos>, path: &str) -> Pos {
        let mut at = Some(path);
        while let Some(p) = at {
            if let Some(pos) = map.get(p) {
                return *pos;
            }
            at = parent(p);
        }
        (1, 1)
    }

    /// An error at the value of `path`.
    pub fn error(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.value(path);
        Diagnostic::error(&self.file, line, col, message)
    }

    /// An error at the key that introduces `path`: for a key that does not belong
    /// where it is, the key is what the author removes (its value may be lines below).
    pub fn key_error(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.key(path);
        Diagnostic::error(&self.file, line, col, message)
    }

    /// A warning at the value of `path`.
    pub fn warning(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.value(path);
        Diagnostic::warning(&self.file, line, col, message)
    }

    /// Records every key and value of a `marked_yaml` document.
    pub fn from_yaml(file: impl Into<PathBuf>, root: &Node) -> Self {
        let mut map = SourceMap::empty(file);
        map.walk_yaml(".", root);
        map
    }

    fn walk_yaml(&mut self, path: &str, node: &Node) {
        // yaml-rust2 marks a block mapping at its first `:`; its first key is where a
        // reader sees the mapping start.
        let start = match node {
            Node::Mapping(map) => map.iter().next().map_or(node.span(), |(k, _)| k.span()),
            _ => node.span(),
        };
        if let Some(m) = start.start() {
            self.values.insert(path.to_owned(), (m.line(), m.column()));
        }
        match node {
            Node::Scalar(_) => {}
            Node::Sequence(seq) => {
                for (i, item) in seq.iter().enumerate() {
                    self.walk_yaml(&index(path, i), item);
                }
            }
            Node::Mapping(map) => {
                for (key, value) in map.iter() {
                    let child = field(path, key.as_str());
                    if let Some(m) = key.span().start() {
                        self.keys.insert(child.clone(), (m.line(), m.column()));
                    }
                    self.walk_yaml(&child, value);
                }
            }
        }
    }

    /// Records every key and value of a JSON document and converts it to a
    /// `serde_json::Value`. JSON objects with a repeated key keep the last value (what
    /// browsers and Killercoda do), and each repetition is reported as a warning,
    /// because `serde_json` alone would accept it silently.
    pub fn from_json(
        file: impl Into<PathBuf>,
        text: &str,
        root: &ast::Value<'_>,
    ) -> (Self, serde_json::Value, Vec<Diagnostic>) {
        let mut map = SourceMap::empty(file);
        let mut warnings = Vec::new();
        let value = map.walk_json(".", text, root, &mut warnings);
        (map, value, warnings)
    }

    fn walk_json(
        &mut self,
        path: &str,
        text: &str,
        node: &ast::Value<'_>,
        warnings: &mut Vec<Diagnostic>,
    ) -> serde_json::Value {
        use jsonc_parser::common::Ranged;
        use serde_json::Value as J;
        self.values
            .insert(path.to_owned(), line_col(text, node.range().start));
        match node {
            ast::Value::StringLit(s) => J::String(s.value.to_string()),
            ast::Value::NumberLit(n) => serde_json::from_str::<serde_json::Number>(n.value)
                .map(J::Number)
                .unwrap_or_else(|_| J::String(n.value.to_owned())),
            ast::Value::BooleanLit(b) => J::Bool(b.value),
            ast::Value::NullKeyword(_) => J::Null,
            ast::Value::Array(a) => J::Array(
                a.elements
                    .iter()
                    .enumerate()
                    .map(|(i, e)| self.walk_json(&index(path, i), text, e, warnings))
                    .collect(),
            ),
            ast::Value::Object(o) => {
                let mut out = serde_json::Map::new();
                for prop in &o.properties {
                    let name = prop.name.as_str();
                    let child = field(path, name);
                    let key_pos = line_col(text, prop.range.start);
                    if let Some(first) = self.keys.get(&child) {
                        let (line, col) = key_pos;
                        warnings.push(
                            Diagnostic::warning(
                                &self.file,
                                line,
                                col,
                                format!(
                                    "duplicate key `{name}` (previous one at line {}); the last value wins",
                                    first.0
                                ),
                            )
                            .with_hint("remove all but one of the repeated keys"),
                        );
                    }
                    self.keys.insert(child.clone(), key_pos);
                    let value = self.walk_json(&child, text, &prop.value, warnings);
                    out.insert(name.to_owned(), value);
                }
                J::Object(out)
            }
        }
    }
}

/// How deeply a document may nest. The parsers, serde and the walks above are
/// recursive, so a hostile file (`[[[[…`) could otherwise overflow the stack, which
/// aborts the process instead of producing a diagnostic. Real lesson files nest a
/// dozen levels at most.
pub const MAX_DEPTH: usize = 64;
/// Block YAML nests by indentation (and by `- - -` on one line): the widest such
/// prefix a line may have.
pub const MAX_INDENT: usize = 256;

/// The byte offset where `text` nests deeper than [`MAX_DEPTH`] brackets (or, with
/// `yaml`, indents further than [`MAX_INDENT`]), if it does. JSON strings are skipped;
/// in YAML every bracket counts, which can only err towards refusing a file.
pub fn too_deep(text: &str, yaml: bool) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut line_start = true;
    let mut indent = 0usize;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            line_start = true;
            indent = 0;
            in_string = false;
            continue;
        }
        if yaml && line_start {
            if matches!(c, ' ' | '-' | '?' | ':' | '\t') {
                indent += 1;
                if indent > MAX_INDENT {
                    return Some(i);
                }
                continue;
            }
            line_start = false;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if !yaml => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The diagnostic for a document that [`too_deep`] refuses, or `None`.
pub fn depth_diagnostic(file: &Path, text: &str, yaml: bool) -> Option<Diagnostic> {
    let offset = too_deep(text, yaml)?;
    let (line, col) = line_col(text, offset);
    Some(
        Diagnostic::error(
            file,
            line,
            col,
            "the document nests too deeply to be a lesson",
        )
        .with_hint(format!(
            "at most {MAX_DEPTH} levels of brackets and {MAX_INDENT} columns of indentation"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_paths() {
        assert_eq!(parent("steps[0].check[1].node"), Some("steps[0].check[1]"));
        assert_eq!(parent("steps[0].check[1]"), Some("steps[0].check"));
        assert_eq!(parent("steps"), Some("."));
        assert_eq!(parent("."), None);
    }

    #[test]
    fn yaml_positions_fall_back_to_ancestors() {
        let text = "title: x\nsteps:\n  - title: a\n    check:\n      - node: n1\n";
        let node = marked_yaml::parse_yaml(0, text).unwrap();
        let map = SourceMap::from_yaml("l.yaml", &node);
        assert_eq!(map.value("steps[0].check[0].node"), (5, 15));
        assert_eq!(map.key("steps[0].check[0].node"), (5, 9));
        assert_eq!(map.value("steps[0].check[0].run"), (5, 9));
    }
}
