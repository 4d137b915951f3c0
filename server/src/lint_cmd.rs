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
}

pub fn main(args: LintArgs) -> anyhow::Result<ExitCode> {
    let (lessons, diagnostics) = scenarios::lint(&args.dirs);
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

    #[test]
    fn exit_status_follows_errors() {
        let clean = main(LintArgs {
            dirs: vec![fixture("ok")],
        })
        .unwrap();
        assert_eq!(clean, ExitCode::SUCCESS);
        let broken = main(LintArgs {
            dirs: vec![fixture("ok"), fixture("unknown-key")],
        })
        .unwrap();
        assert_eq!(broken, ExitCode::FAILURE);
        // Warnings alone do not fail the run.
        let warned = main(LintArgs {
            dirs: vec![fixture("killercoda-duplicate-key")],
        })
        .unwrap();
        assert_eq!(warned, ExitCode::SUCCESS);
        let missing = main(LintArgs {
            dirs: vec![fixture("does-not-exist")],
        })
        .unwrap();
        assert_eq!(missing, ExitCode::FAILURE);
    }
}
