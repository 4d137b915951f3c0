//! The generated PKI inside real nodes: `openssl` in a container accepts every leaf
//! against its own CA (and for its purpose and names), rejects it against the others,
//! completes a mutual-TLS handshake with the API server and admin certificates, and
//! shows the short-lived certificate's earlier `notAfter`.
//!
//! Needs a running Docker engine and the local `debian:bookworm-slim` image; it builds a
//! small image with `openssl` from it once (apt reaches Debian's mirrors in `docker
//! build` here). It talks to nothing but its own containers, which have no network.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use runner::SessionId;
use runner::local::write_node_files;
use runner::pki::{ClusterIdentity, ClusterNode, KubernetesPki, kubernetes_pki};

const BASE_IMAGE: &str = "debian:bookworm-slim";
const DOCKERFILE: &str = "FROM debian:bookworm-slim\n\
    RUN apt-get update && apt-get install -y --no-install-recommends openssl \
    && rm -rf /var/lib/apt/lists/*\n";

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `docker`: {e}; install docker.io and start dockerd"))
}

fn require_docker() {
    let info = docker(&["info", "--format", "{{.ServerVersion}}"]);
    assert!(
        info.status.success(),
        "this test needs a running Docker engine (apt-get install docker.io; dockerd &): {}",
        String::from_utf8_lossy(&info.stderr)
    );
    let base = docker(&["image", "inspect", BASE_IMAGE]);
    assert!(
        base.status.success(),
        "this test needs the local image {BASE_IMAGE}; seed it with debootstrap as \
         docs/PRODUCT.md describes (no registry is reachable)"
    );
}

/// The openssl image, tagged by a hash of its Dockerfile so it is built once.
fn openssl_image() -> String {
    let hash = DOCKERFILE.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    let tag = format!("playlab-test/openssl:{hash:016x}");
    if !docker(&["image", "inspect", &tag]).status.success() {
        let mut child = Command::new("docker")
            .args(["build", "-q", "-t", &tag, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(DOCKERFILE.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "building {tag} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    tag
}

/// A labelled, network-less container holding one node's PKI files; removed on drop.
struct Node {
    name: String,
}

impl Node {
    fn start(session: &SessionId, node: &str, image: &str, pki: &KubernetesPki) -> Node {
        let name = format!("playlab-{session}-{node}");
        let label = format!("playlab.session={session}");
        let node_label = format!("playlab.node={node}");
        let run = docker(&[
            "run",
            "-d",
            "--rm",
            "--name",
            &name,
            "--hostname",
            node,
            "--network",
            "none",
            "--label",
            &label,
            "--label",
            &node_label,
            image,
            "sleep",
            "300",
        ]);
        assert!(
            run.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let node_handle = Node { name };
        // Written to a directory first, then copied in: `docker cp` keeps the modes
        // and makes root the owner, as the backends' uploads do.
        let dir = tempfile::tempdir().unwrap();
        write_node_files(dir.path(), pki.files(node)).unwrap();
        let source = format!("{}/.", dir.path().display());
        let cp = docker(&["cp", &source, &format!("{}:/", node_handle.name)]);
        assert!(
            cp.status.success(),
            "docker cp: {}",
            String::from_utf8_lossy(&cp.stderr)
        );
        node_handle
    }

    /// Runs `script` with bash in the node; returns (success, stdout + stderr).
    fn sh(&self, script: &str) -> (bool, String) {
        let out = docker(&["exec", &self.name, "bash", "-c", script]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        docker(&["rm", "-f", &self.name]);
    }
}

fn cluster() -> ClusterIdentity {
    ClusterIdentity {
        nodes: vec![
            ClusterNode::new(
                "controlplane",
                Some(IpAddr::V4(Ipv4Addr::new(172, 30, 0, 2))),
            ),
            ClusterNode::new("node01", None),
        ],
    }
}

/// Every leaf on the control plane: (certificate, its CA, openssl purpose, a name or
/// address it must be valid for).
const LEAVES: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "apiserver.crt",
        "ca.crt",
        "sslserver",
        Some("-verify_hostname kubernetes.default.svc.cluster.local"),
    ),
    (
        "apiserver.crt",
        "ca.crt",
        "sslserver",
        Some("-verify_hostname controlplane"),
    ),
    (
        "apiserver.crt",
        "ca.crt",
        "sslserver",
        Some("-verify_ip 10.96.0.1"),
    ),
    (
        "apiserver.crt",
        "ca.crt",
        "sslserver",
        Some("-verify_ip 172.30.0.2"),
    ),
    ("apiserver-kubelet-client.crt", "ca.crt", "sslclient", None),
    (
        "front-proxy-client.crt",
        "front-proxy-ca.crt",
        "sslclient",
        None,
    ),
    (
        "etcd/server.crt",
        "etcd/ca.crt",
        "sslserver",
        Some("-verify_ip 127.0.0.1"),
    ),
    (
        "etcd/server.crt",
        "etcd/ca.crt",
        "sslclient",
        Some("-verify_hostname localhost"),
    ),
    (
        "etcd/peer.crt",
        "etcd/ca.crt",
        "sslserver",
        Some("-verify_hostname controlplane"),
    ),
    (
        "etcd/peer.crt",
        "etcd/ca.crt",
        "sslclient",
        Some("-verify_ip 172.30.0.2"),
    ),
    (
        "etcd/healthcheck-client.crt",
        "etcd/ca.crt",
        "sslclient",
        None,
    ),
    (
        "apiserver-etcd-client.crt",
        "etcd/ca.crt",
        "sslclient",
        None,
    ),
];

const CAS: &[&str] = &["ca.crt", "etcd/ca.crt", "front-proxy-ca.crt"];

/// Extracts a kubeconfig's embedded client certificate to a file, as a learner would.
fn extract_client_cert(conf: &str, to: &str) -> String {
    format!(
        "grep client-certificate-data /etc/kubernetes/{conf} | awk '{{print $2}}' | base64 -d > {to}"
    )
}

#[test]
fn openssl_in_a_node_verifies_every_leaf_against_its_ca() {
    require_docker();
    let image = openssl_image();
    let short = BTreeMap::from([(
        "apiserver-kubelet-client".to_owned(),
        Duration::from_secs(48 * 3600),
    )]);
    let pki = kubernetes_pki(&cluster(), &short).unwrap();
    let session = SessionId::random();
    let cp = Node::start(&session, "controlplane", &image, &pki);
    let worker = Node::start(&session, "node01", &image, &pki);

    let mut failures = Vec::new();
    for (leaf, ca, purpose, name) in LEAVES {
        let cmd = format!(
            "cd /etc/kubernetes/pki && openssl verify -x509_strict -CAfile {ca} -purpose {purpose} {} {leaf}",
            name.unwrap_or("")
        );
        let (ok, out) = cp.sh(&cmd);
        if !ok || out.trim() != format!("{leaf}: OK") {
            failures.push(format!("{cmd}\n  -> {out}"));
        }
        // The same leaf against every other CA must be rejected: the check can fail.
        for other in CAS.iter().filter(|c| *c != ca) {
            let (ok, out) = cp.sh(&format!(
                "cd /etc/kubernetes/pki && openssl verify -CAfile {other} {leaf}"
            ));
            if ok {
                failures.push(format!(
                    "{leaf} verified against the wrong CA {other}: {out}"
                ));
            }
        }
        // The private key next to it is the certificate's.
        let key = leaf.replace(".crt", ".key");
        let (ok, out) = cp.sh(&format!(
            "cd /etc/kubernetes/pki && [ \"$(openssl x509 -in {leaf} -noout -pubkey)\" = \"$(openssl pkey -in {key} -pubout)\" ]"
        ));
        if !ok {
            failures.push(format!("{key} is not the key of {leaf}: {out}"));
        }
    }

    // Each kubeconfig's client certificate, on the node that has it.
    for (node, conf) in [
        (&cp, "admin.conf"),
        (&cp, "super-admin.conf"),
        (&cp, "controller-manager.conf"),
        (&cp, "scheduler.conf"),
        (&cp, "kubelet.conf"),
        (&worker, "kubelet.conf"),
    ] {
        let script = format!(
            "{} && openssl verify -x509_strict -CAfile /etc/kubernetes/pki/ca.crt -purpose sslclient /tmp/client.crt",
            extract_client_cert(conf, "/tmp/client.crt")
        );
        let (ok, out) = node.sh(&script);
        if !ok {
            failures.push(format!("{}:{conf}: {out}", node.name));
        }
    }
    assert!(
        failures.is_empty(),
        "openssl rejected:\n{}",
        failures.join("\n")
    );

    // Keys are readable by root only, certificates by everyone: as kubeadm leaves them.
    let (_, modes) = cp.sh("cd /etc/kubernetes && find . -type f -printf '%m %p\\n' | sort -k2");
    for line in modes.lines() {
        let (mode, path) = line.split_once(' ').unwrap();
        let want = if path.ends_with(".crt") || path.ends_with(".pub") {
            "644"
        } else {
            "600"
        };
        assert_eq!(mode, want, "mode of {path}");
    }
    assert_eq!(
        modes.lines().count(),
        27,
        "files on the control plane:\n{modes}"
    );

    // The short-lived certificate ends ~48 h from now, the others in a year.
    let end = |file: &str| -> i64 {
        let (ok, out) = cp.sh(&format!(
            "date -d \"$(openssl x509 -in /etc/kubernetes/pki/{file} -noout -enddate | cut -d= -f2)\" +%s"
        ));
        assert!(ok, "{out}");
        out.trim().parse().unwrap()
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let short_end = end("apiserver-kubelet-client.crt") - now;
    let normal_end = end("apiserver.crt") - now;
    assert!(
        (short_end - 48 * 3600).abs() < 120,
        "short-lived ends in {short_end} s"
    );
    assert!(
        (normal_end - 365 * 86400).abs() < 120,
        "apiserver.crt ends in {normal_end} s"
    );
    let (expiring, out) = cp.sh(
        "openssl x509 -in /etc/kubernetes/pki/apiserver-kubelet-client.crt -noout -checkend 259200",
    );
    assert!(
        !expiring,
        "openssl -checkend says it expires within 3 days: {out}"
    );
}

#[test]
fn mutual_tls_handshake_with_apiserver_and_admin_certificates() {
    require_docker();
    let image = openssl_image();
    let pki = kubernetes_pki(&cluster(), &BTreeMap::new()).unwrap();
    let session = SessionId::random();
    let cp = Node::start(&session, "controlplane", &image, &pki);

    // A TLS server with the API server's certificate that demands a client certificate
    // from the cluster CA; a client that presents admin.conf's certificate and checks
    // the server's name. All on the node's loopback.
    let script = format!(
        r#"
cd /etc/kubernetes/pki
{extract}
grep client-key-data /etc/kubernetes/admin.conf | awk '{{print $2}}' | base64 -d > /tmp/admin.key
openssl s_server -accept 127.0.0.1:6443 -cert apiserver.crt -key apiserver.key \
  -CAfile ca.crt -Verify 1 -verify_return_error -www -naccept 1 >/tmp/server.log 2>&1 &
# -s: the log may not exist yet when the first look comes before the server starts.
for i in $(seq 100); do grep -qs ACCEPT /tmp/server.log && break; sleep 0.1; done
echo | openssl s_client -brief -connect 127.0.0.1:6443 -CAfile ca.crt \
  -verify_hostname kubernetes.default.svc -verify_return_error \
  -cert /tmp/admin.crt -key /tmp/admin.key 2>&1 | grep -E 'CONNECTION|Peer certificate|Verification'
status=${{PIPESTATUS[0]}}
wait
grep -E '^(depth|subject|issuer|verify)' /tmp/server.log
exit $status"#,
        extract = extract_client_cert("admin.conf", "/tmp/admin.crt")
    );
    let (ok, out) = cp.sh(&script);
    assert!(ok, "handshake script failed:\n{out}");
    insta::assert_snapshot!(out);
}
