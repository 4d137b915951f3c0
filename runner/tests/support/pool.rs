//! A real swarm for the swarm backend's test and bench: `swarm-pool.sh` beside this
//! file makes it; [`Pool`] holds it and removes it when dropped, pass or fail.
// runner's test, server's test and the bench each use a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use runner::docker::{
    ClientFiles, DockerBackend, DockerConfig, EngineAddress, PoolCertificates, PoolHost,
    SwarmBackend, SwarmOptions,
};
use runner::{ProgressSender, SessionId};
use scenarios::killercoda::DOCKER_NODE_IMAGE;

/// A running pool; removed when dropped.
pub struct Pool {
    name: String,
    env: HashMap<String, String>,
    /// The client files, once [`Pool::secure`] switched the engines to TLS.
    tls: Option<(tempfile::TempDir, ClientFiles)>,
}

fn pool_script() -> PathBuf {
    // From the workspace root: this file is compiled into runner's and server's tests.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runner/tests/support/swarm-pool.sh")
}

impl Pool {
    pub async fn up() -> Pool {
        // The hosts are playlab's Docker node image, built here as lessons build it.
        DockerBackend::connect(DockerConfig::default())
            .await
            .unwrap_or_else(|e| panic!("Docker is unreachable, the swarm pool needs the real engine: start dockerd; see .ci/setup-machine ({e})"))
            .images()
            .build_tagged(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/images/docker-node"),
                DOCKER_NODE_IMAGE,
                &ProgressSender::discard(),
            )
            .await
            .unwrap_or_else(|e| panic!("building {DOCKER_NODE_IMAGE} for the pool's hosts: {e}"));
        let name = format!("plswarm{}", &SessionId::random().to_string()[..8]);
        // From here on the pool exists (or half of it does): the guard removes it.
        let mut pool = Pool {
            name,
            env: HashMap::new(),
            tls: None,
        };
        let out = Command::new(pool_script())
            .args(["up", &pool.name])
            .output()
            .expect("running swarm-pool.sh");
        assert!(
            out.status.success(),
            "swarm-pool.sh up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pool.env = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        pool
    }

    pub fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("swarm-pool.sh printed no {key}: {:?}", self.env))
    }

    /// Copies an image of the outer engine into the manager's, as an operator's build
    /// host would have it; the backend pushes it to the registry from there.
    pub fn load_into_manager(&self, image: &str) {
        self.load_into("host1", image);
    }

    /// Copies an image of the outer engine into the engine of `host` (`host2`, ...).
    pub fn load_into(&self, host: &str, image: &str) {
        let out = Command::new(pool_script())
            .args(["load", &self.name, image])
            .env("SWARM_POOL_LOAD_INTO", host)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "loading {image} into {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops or starts (`action`) the Docker engine of the pool host named `host`, as
    /// `systemctl` on that machine would.
    pub fn engine(&self, host: &str, action: &str) {
        let status = Command::new("docker")
            .args([
                "exec",
                host,
                "systemctl",
                action,
                "docker.socket",
                "docker.service",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "systemctl {action} docker on {host}");
    }

    /// The hosts as `PoolCertificates` names them: name and the address the swarm
    /// advertises.
    pub fn hosts(&self) -> Vec<PoolHost> {
        (1..)
            .map_while(|n| {
                let name = self.env.get(&format!("SWARM_HOST{n}_NAME"))?;
                let api = &self.env[&format!("SWARM_HOST{n}_API")];
                let ip = api.trim_start_matches("tcp://").rsplit_once(':')?.0;
                Some(PoolHost {
                    name: name.clone(),
                    addresses: vec![ip.parse().expect("an IP address")],
                })
            })
            .collect()
    }

    /// Issues the pool's certificates and switches every engine to TLS on 2376, as an
    /// operator would with `playlab swarm certs`; backends made after this use them.
    pub fn secure(&mut self) -> ClientFiles {
        let dir = tempfile::tempdir().unwrap();
        PoolCertificates::issue(&self.hosts())
            .unwrap()
            .write(dir.path())
            .unwrap();
        let out = Command::new(pool_script())
            .args(["tls", &self.name])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "swarm-pool.sh tls: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let files = ClientFiles(dir.path().to_owned());
        self.tls = Some((dir, files.clone()));
        files
    }

    /// `tcp://IP:PORT` of the manager's engine: 2375, or 2376 once secured.
    pub fn manager_api(&self) -> String {
        let plain = self.get("SWARM_MANAGER_API");
        match self.tls {
            Some(_) => plain.replace(":2375", ":2376"),
            None => plain.to_owned(),
        }
    }

    /// A backend over the pool whose nodes get at most 128 MiB: 20 sessions reserve
    /// their memory on hosts that each see this whole machine.
    pub async fn backend(&self, owner: &str, keep_together: bool) -> SwarmBackend {
        self.connect(self.config(owner), keep_together).await
    }

    /// The operator's settings [`Pool::backend`] uses, for a test to change.
    pub fn config(&self, owner: &str) -> DockerConfig {
        DockerConfig {
            engine: EngineAddress::parse(&self.manager_api()).unwrap(),
            owner: Some(owner.to_owned()),
            max_memory_bytes: 128 * 1024 * 1024,
            ..DockerConfig::default()
        }
    }

    pub async fn connect(&self, config: DockerConfig, keep_together: bool) -> SwarmBackend {
        let options = SwarmOptions {
            registry: Some(self.get("SWARM_REGISTRY").to_owned()),
            keep_together,
            host_engine_port: if self.tls.is_some() { 2376 } else { 2375 },
            tls: self.tls.as_ref().map(|(_, files)| files.clone()),
        };
        SwarmBackend::connect(config, options)
            .await
            .unwrap_or_else(|e| panic!("connecting to the pool's manager: {e}"))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let out = Command::new(pool_script())
            .args(["down", &self.name])
            .output();
        let failure = match out {
            Ok(out) if out.status.success() => return,
            Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
            Err(e) => format!("running swarm-pool.sh: {e}"),
        };
        // A second panic while a failed test unwinds would abort the whole binary.
        if std::thread::panicking() {
            eprintln!("swarm-pool.sh down {}: {failure}", self.name);
        } else {
            panic!(
                "swarm-pool.sh down {} left things behind: {failure}",
                self.name
            );
        }
    }
}
