//! The `playlab` binary. Thin on purpose: it parses flags and hands each subcommand to
//! its module; the work lives in the `scenarios` and `runner` crates and in `serve`.

mod lint_cmd;
mod test_cmd;

use playlab::serve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "playlab",
    version,
    about = "A self-hosted interactive lab server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the lessons to learners' browsers.
    // Boxed: the serve flags outweigh the other commands' many times over.
    Serve(Box<serve::ServeArgs>),
    /// Check lessons without running them; prints `path:line:col: error: message`.
    Lint(lint_cmd::LintArgs),
    /// Self-test lessons in real environments: every check must fail before its
    /// step's solution and pass after it.
    Test(test_cmd::TestArgs),
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::main(*args),
        Command::Lint(args) => lint_cmd::main(args),
        Command::Test(args) => test_cmd::main(args),
    }
}
