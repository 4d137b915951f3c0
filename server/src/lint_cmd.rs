//! `playlab lint [PATH...]`: load every lesson under the paths, print
//! every diagnostic as `path:line:col: severity: message` (plus a `hint:` line), and
//! exit 1 when any of them is an error.

use std::process::ExitCode;

use playlab::settings::LessonPaths;

#[derive(clap::Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub lessons: LessonPaths,
}

pub fn main(args: LintArgs) -> anyhow::Result<ExitCode> {
    // As on a server that allows system nodes: every lesson is read as it can run at
    // best; a system node gets its own warning saying what it needs.
    let (lessons, diagnostics) = args.lessons.load(true)?;
    let cwd = std::env::current_dir().unwrap_or_default();
    for d in &diagnostics {
        println!("{}", d.display_relative_to(&cwd));
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    eprintln!(
        "{} lesson(s) ok, {errors} error(s), {warnings} warning(s)",
        lessons.len()
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use playlab::settings::ImageSettings;
    use std::path::PathBuf;

    fn fixture(case: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/tests/lint")
            .join(case)
    }

    fn args(dirs: &[PathBuf], images: Option<PathBuf>) -> LintArgs {
        LintArgs {
            lessons: LessonPaths {
                paths: dirs.to_vec(),
                images: ImageSettings { images },
            },
        }
    }

    fn lint(dirs: &[PathBuf]) -> ExitCode {
        main(args(dirs, None)).unwrap()
    }

    #[test]
    fn exit_status_follows_errors() {
        assert_eq!(lint(&[fixture("ok")]), ExitCode::SUCCESS);
        assert_eq!(
            lint(&[fixture("ok"), fixture("unknown-key")]),
            ExitCode::FAILURE
        );
        // Warnings alone do not fail the run.
        assert_eq!(
            lint(&[fixture("killercoda-duplicate-key")]),
            ExitCode::SUCCESS
        );
        assert_eq!(lint(&[fixture("does-not-exist")]), ExitCode::FAILURE);
    }

    /// An operator's image map that knows `centos` removes the unknown-image warning.
    #[test]
    fn image_map_file_replaces_the_default() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("images.json");
        std::fs::write(&file, r#"{"rules": [{"imageid": "centos", "nodes": [{"name": "host01", "image": "centos:9"}]}]}"#).unwrap();
        let images = scenarios::ImageMap::from_file(&file).unwrap();
        let dirs = [fixture("killercoda-unknown-image")];
        let default = scenarios::load_content_dirs(&dirs).diagnostics;
        assert!(
            default
                .iter()
                .any(|d| d.message.contains("unknown backend image `centos`")),
            "{default:?}"
        );
        assert!(
            scenarios::load_content_dirs_with(&dirs, &images)
                .diagnostics
                .is_empty()
        );
        std::fs::write(&file, "{\n  \"rulez\": []\n}").unwrap();
        let err = scenarios::ImageMap::from_file(&file)
            .unwrap_err()
            .to_string();
        assert!(err.contains("images.json:2:"), "{err}");
        let status = main(args(&dirs, Some(file)));
        assert!(status.is_err());
    }
}
