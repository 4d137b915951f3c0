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
