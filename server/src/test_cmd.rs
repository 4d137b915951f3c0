//! `playlab test` (being written).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TestArgs {}

pub fn main(_args: TestArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not written yet")
}
