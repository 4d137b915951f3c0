//! `playlab lint` (being written).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct LintArgs {}

pub fn main(_args: LintArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not written yet")
}
