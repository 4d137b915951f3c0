//! Reading the native format's YAML files (`lesson.yaml` and its translations'
//! `lesson.LANG.yaml`) with `marked_yaml`, which keeps the position of every node, so
//! that a file that cannot be read, or does not have the expected shape, is one
//! diagnostic at the line and column where it goes wrong, with advice.

use std::path::Path;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source_map::SourceMap;

/// Parses a YAML file of the native format into `T`, keeping every value's position;
/// what cannot be read is one diagnostic at the place it went wrong. `first_key` is
/// what the file's first line usually says; `known_keys` every key the format has,
/// for "did you mean" hints.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
    first_key: &str,
    known_keys: &[&str],
) -> Result<(T, SourceMap), Diagnostic> {
    if let Some(d) = crate::source_map::depth_diagnostic(file, text, true) {
        return Err(d);
    }
    // marked_yaml's default keeps the last of repeated keys silently; a repeated key
    // in a lesson is a mistake (two `check:` lists, say), so it is reported.
    let options = marked_yaml::LoaderOptions::default().error_on_duplicate_keys(true);
    let root = marked_yaml::parse_yaml_with_options(0, text, options)
        .map_err(|e| load_error(file, &e, first_key))?;
    let map = SourceMap::from_yaml(file, &root);
    let raw = marked_yaml::from_node(&root).map_err(|e| from_node_error(&map, &e, known_keys))?;
    Ok((raw, map))
}

fn load_error(file: &Path, e: &marked_yaml::LoadError, first_key: &str) -> Diagnostic {
    use marked_yaml::LoadError as L;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let (mark, message, hint) = match e {
        L::TopLevelMustBeMapping(m) | L::TopLevelMustBeSequence(m) => (
            Some(*m),
            format!("{name} must be a mapping of keys such as `{first_key}:`"),
            Some(format!(
                "write `key: value` lines from the left margin, starting with `{first_key}: …`"
            )),
        ),
        L::UnexpectedAnchor(m) => (
            Some(*m),
            "YAML anchors and aliases are not supported".into(),
            Some("write the repeated values out in full".into()),
        ),
        L::MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain words".into(), None),
        L::UnexpectedTag(m) => (
            Some(*m),
            "YAML tags (`!tag`) are not supported".into(),
            None,
        ),
        L::ScanError(m, err) => (
            Some(*m),
            format!("invalid YAML: {}", err.info()),
            Some("check the indentation and quoting on this line and the one above".into()),
        ),
        L::DuplicateKey(inner) => (
            inner.key.span().start().copied(),
            format!(
                "duplicate key `{}` (first at line {})",
                inner.key.as_str(),
                inner.prev_key.span().start().map_or(0, |m| m.line())
            ),
            Some("keep one of them: a key appears once per mapping".into()),
        ),
    };
    let (line, col) = mark.map_or((1, 1), |m| (m.line(), m.column()));
    let d = Diagnostic::error(file, line, col, message);
    match hint {
        Some(h) => d.with_hint(h),
        None => d,
    }
}

fn from_node_error(
    map: &SourceMap,
    e: &marked_yaml::FromNodeError,
    known_keys: &[&str],
) -> Diagnostic {
    use marked_yaml::Error as E;
    let path = e.path().unwrap_or(".");
    // marked_yaml places errors about a whole mapping (a missing field, a mapping
    // where a list belongs) at its first `:`; our map places them at its first key,
    // where a reader looks. Errors about one key or scalar carry the right mark.
    let (line, col) = match (&**e, e.start_mark()) {
        (E::Other(..), _) | (_, None) => map.value(path),
        (_, Some(m)) => (m.line(), m.column()),
    };
    let at = if path == "." {
        String::new()
    } else {
        format!(" (at `{path}`)")
    };
    let file = map.file();
    match &**e {
        E::UnknownFieldError(key, expected, _) => {
            let hint = did_you_mean(key, expected.iter().copied())
                .or_else(|| did_you_mean(key, known_keys.iter().copied()))
                .unwrap_or_else(|| format!("allowed here: {}", expected.join(", ")));
            Diagnostic::error(file, line, col, format!("unknown key `{key}`")).with_hint(hint)
        }
        E::NotBoolean(_) => Diagnostic::error(
            file,
            line,
            col,
            format!("`{path}` must be `true` or `false`"),
        ),
        E::IntegerParseFailure(err, _) => Diagnostic::error(
            file,
            line,
            col,
            format!("`{path}` must be a whole number ({err})"),
        ),
        E::FloatParseFailure(err, _) => Diagnostic::error(
            file,
            line,
            col,
            format!("`{path}` must be a number ({err})"),
        ),
        // lesson.yaml's one untagged enum: serde's own message names the Rust type.
        E::Other(message, _) if message.contains("untagged enum PkiFile") => Diagnostic::error(
            file,
            line,
            col,
            "`environment.pki` is not a PKI kind this version knows",
        )
        .with_hint(
            "write `pki: kubernetes` or `pki: {kind: kubernetes, short_lived: {apiserver: 48h}}`",
        ),
        E::Other(message, _) => {
            let d = Diagnostic::error(file, line, col, format!("{message}{at}"));
            if message.contains("expected a sequence") {
                d.with_hint("this key takes a list: start each item with `- `, or write `[a, b]`")
            } else {
                d
            }
        }
    }
}
