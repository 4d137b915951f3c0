//! `playlab swarm certs`: the pool's TLS set-up. Issues a CA of the pool's own, a
//! server certificate for each host's engine (for the addresses given) and a client
//! certificate for playlab, writes them in Docker's layout, and prints what each host's
//! engine needs to accept only playlab.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use runner::docker::{PoolCertificates, PoolHost, host_folder};

#[derive(clap::Args)]
pub struct SwarmArgs {
    #[command(subcommand)]
    pub command: SwarmCommand,
}

#[derive(clap::Subcommand)]
pub enum SwarmCommand {
    /// Issue the pool's TLS certificates and print each host's engine settings.
    Certs(CertsArgs),
}

#[derive(clap::Args)]
pub struct CertsArgs {
    /// Where to write them: `ca.pem`, `cert.pem`, `key.pem` are playlab's (give the
    /// folder to `--swarm-tls`), `hosts/NAME/` each host's.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A host as NAME=ADDRESS[,ADDRESS...]: its name, and the addresses playlab
    /// reaches its engine at (the one it advertises in the swarm).
    #[arg(value_name = "NAME=ADDRESS", required = true)]
    pub hosts: Vec<String>,
}

pub fn main(args: SwarmArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SwarmCommand::Certs(certs) => write_certs(certs),
    }
}

/// `NAME=ADDRESS[,ADDRESS...]`.
fn parse_host(text: &str) -> anyhow::Result<PoolHost> {
    let Some((name, addresses)) = text.split_once('=') else {
        bail!("{text:?}: write a host as NAME=ADDRESS, e.g. lab1=10.0.0.5");
    };
    if !scenarios::units::is_dns_label(name) {
        bail!("{text:?}: {name:?} is not a host name (letters, digits and '-')");
    }
    let addresses = addresses
        .split(',')
        .map(|a| {
            a.parse::<IpAddr>()
                .with_context(|| format!("{text:?}: {a:?} is not an IP address"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(PoolHost {
        name: name.to_owned(),
        addresses,
    })
}

fn write_certs(args: CertsArgs) -> anyhow::Result<ExitCode> {
    let hosts = args
        .hosts
        .iter()
        .map(|h| parse_host(h))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.out.join("ca-key.pem").exists() {
        bail!(
            "{} already holds a pool CA: issue into a new folder (hosts keep trusting the old CA until their files are replaced)",
            args.out.display()
        );
    }
    PoolCertificates::issue(&hosts)?
        .write(&args.out)
        .with_context(|| format!("writing the certificates to {}", args.out.display()))?;
    let out = args.out.display();
    println!("playlab's client files: {out}/{{ca,cert,key}}.pem");
    println!("  playlab serve --backend swarm --swarm-tls {out} --swarm-engine-port 2376");
    println!("  (DOCKER_HOST=tcp://MANAGER:2376; keep {out}/ca-key.pem offline)");
    for host in &hosts {
        let folder = host_folder(&args.out, &host.name);
        println!();
        println!(
            "host {}: copy {}/{{ca,server-cert,server-key}}.pem to /etc/docker/tls/, then in /etc/docker/daemon.json:",
            host.name,
            folder.display()
        );
        println!(
            r#"  "tlsverify": true, "tlscacert": "/etc/docker/tls/ca.pem", "tlscert": "/etc/docker/tls/server-cert.pem", "tlskey": "/etc/docker/tls/server-key.pem""#
        );
        println!(
            r#"  and listen with DOCKER_OPTS="-H tcp://0.0.0.0:2376" in /etc/default/docker; restart docker"#
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_a_name_and_its_addresses() {
        let host = parse_host("lab2=10.0.0.6,fd00::6").unwrap();
        assert_eq!(host.name, "lab2");
        assert_eq!(host.addresses.len(), 2);
        for (bad, says) in [
            ("lab2", "NAME=ADDRESS"),
            ("lab_2=10.0.0.6", "not a host name"),
            ("lab2=ten", "not an IP address"),
        ] {
            let error = parse_host(bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
