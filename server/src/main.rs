//! The `playlab` binary. Thin on purpose: it parses flags and hands each subcommand to
//! its module; the work lives in the `scenarios` and `runner` crates and in `serve`.

mod gc_cmd;
mod lint_cmd;
mod swarm_cmd;
mod test_cmd;

use playlab::serve;

use clap::{CommandFactory as _, FromArgMatches as _, Subcommand};

#[derive(clap::Parser)]
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
    /// Remove the environments no live server stands for (a killed server's, whose
    /// data directory is gone); lists them first, removes them with `--yes`.
    Gc(gc_cmd::GcArgs),
    /// The Docker Swarm pool's set-up (`certs`: TLS for every host's engine).
    Swarm(swarm_cmd::SwarmArgs),
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        // The typed flags cannot tell which of them were given, so which may override
        // the `--config` file; the matches can.
        Command::Serve(_) => {
            let (_, flags) = matches.subcommand().expect("clap parsed a subcommand");
            serve::main(serve::Settings::load(flags)?)
        }
        Command::Lint(args) => lint_cmd::main(args),
        Command::Test(args) => test_cmd::main(args),
        Command::Gc(args) => gc_cmd::main(args),
        Command::Swarm(args) => swarm_cmd::main(args),
    }
}
