//! `playlab lint [DIR...]`: load every lesson under the content directories, print
//! every diagnostic as `path:line:col: severity: message` (plus a `hint:` line), and
//! exit 1 when any of them is an error.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct LintArgs {
    /// Content directories (or single lesson folders) to check.
    #[arg(default_value = "content")]
    pub dirs: Vec<PathBuf>,
    /// A JSON file replacing the table that maps Killercoda `backend.imageid` values to
    /// environments (see `scenarios::ImageMap`).
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
}

pub fn main(args: LintArgs) -> anyhow::Result<ExitCode> {
    let images = crate::serve::content::image_map(args.images.as_deref())?;
    let content = scenarios::load_content_dirs_with(&args.dirs, &images);
    let (lessons, diagnostics) = (content.lessons, content.diagnostics);
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

    fn fixture(case: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/tests/lint")
            .join(case)
    }

    fn lint(dirs: &[PathBuf]) -> ExitCode {
        main(LintArgs {
            dirs: dirs.to_vec(),
            images: None,
        })
        .unwrap()
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
        assert_eq!(scenarios::load_content_dirs(&dirs).diagnostics.len(), 1);
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
        let status = main(LintArgs {
            dirs: dirs.to_vec(),
            images: Some(file),
        });
        assert!(status.is_err());
    }
}
