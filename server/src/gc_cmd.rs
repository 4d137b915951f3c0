//! `playlab gc`: finds the environments on the Docker engine (or the swarm) that no live server
//! stands for (their owner holds no liveness record: the server was killed, its data
//! directory deleted, or it never had an owner) and, with `--yes`, removes them.
//!
//! A live server's environments are never touched: a server holds its record for as
//! long as its process lives (`runner::docker::Liveness`), so "no record" is a fact
//! the engine states, not a guess from a clock. A stopped server that will start
//! again does not need this (its start reconciles its own environments); gc is for
//! the ones that will not come back.

use std::process::ExitCode;

use anyhow::Context as _;
use playlab::settings::{BackendKind, BackendSettings};
use runner::Backend;
use runner::docker::{DockerBackend, DockerConfig, Orphan, SwarmBackend};

#[derive(clap::Args)]
pub struct GcArgs {
    /// Remove what was found; without it, only list it (a dry run).
    #[arg(long)]
    pub yes: bool,
    /// Only the environments of this owner (a server's id: the file `instance-id` in
    /// its data directory).
    #[arg(long, value_name = "ID")]
    pub owner: Option<String>,
    /// Where the servers ran their environments: `docker` (DOCKER_HOST's engine) or
    /// `swarm` (DOCKER_HOST names a manager; every host's services and networks).
    #[command(flatten)]
    pub backend: BackendSettings,
}

pub fn main(args: GcArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Runtime::new()
        .context("starting the async runtime")?
        .block_on(run(args))
}

async fn run(args: GcArgs) -> anyhow::Result<ExitCode> {
    let owner = args.owner.as_deref();
    let (backend, orphans): (Box<dyn Backend>, _) = match args.backend.kind() {
        BackendKind::Docker => {
            let backend = DockerBackend::connect(DockerConfig::default())
                .await
                .context("playlab gc needs the Docker engine the servers used")?;
            let orphans = backend.orphans(owner).await;
            (Box::new(backend), orphans)
        }
        BackendKind::Swarm => {
            let backend =
                SwarmBackend::connect(DockerConfig::default(), args.backend.swarm_options()?)
                    .await
                    .context(
                        "playlab gc --backend swarm needs DOCKER_HOST to name the swarm's manager",
                    )?;
            let orphans = backend.orphans(owner).await;
            (Box::new(backend), orphans)
        }
        BackendKind::Local => {
            anyhow::bail!(
                "the local backend's environments end with their server: there is nothing to collect"
            )
        }
    };
    let orphans = orphans.context("listing environments and liveness records")?;
    for orphan in &orphans {
        println!("{}", describe(orphan));
    }
    if orphans.is_empty() {
        eprintln!("no orphaned environments");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        eprintln!(
            "{} orphaned environment(s); nothing removed (dry run): run `playlab gc --yes` to remove them",
            orphans.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = 0;
    for orphan in &orphans {
        match backend.destroy(&orphan.session).await {
            Ok(()) => eprintln!("removed {}", orphan.session),
            Err(e) => {
                failed += 1;
                eprintln!("could not remove {}: {e}", orphan.session);
            }
        }
    }
    eprintln!(
        "removed {} of {} orphaned environment(s)",
        orphans.len() - failed,
        orphans.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `SESSION owner OWNER (no live server)`, one line per orphan, for scripts to read.
fn describe(orphan: &Orphan) -> String {
    match &orphan.owner {
        Some(owner) => format!(
            "{}\towner {owner}\tno live server holds this owner",
            orphan.session
        ),
        None => format!(
            "{}\tno owner\tmade by no server (an older playlab)",
            orphan.session
        ),
    }
}
