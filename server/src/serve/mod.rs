//! `playlab serve` (being written).

pub mod assets;

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {}

pub fn main(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not written yet")
}
