//! `playlab serve` (being written).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {}

pub fn main(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not written yet")
}
