//! The generated Kubernetes PKI, parsed back with `x509-parser`.
//!
//! One snapshot describes every file every node gets (path, mode, subject, issuer, SANs,
//! key usages, validity, and which CA's signature it carries), so a reviewer can hold
//! it next to kubeadm's output. Everything random (keys, serials, times) is checked
//! structurally instead: signatures verify against the issuing CA, keys match their
//! certificates, kubeconfigs embed a client certificate of the right CA.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use runner::environment::NodeFile;
use runner::pki::{
    CERTIFICATE_NAMES, ClusterIdentity, ClusterNode, KubernetesPki, PkiError, kubernetes_pki,
};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::X509Certificate;

fn cluster() -> ClusterIdentity {
    ClusterIdentity {
        nodes: vec![
            ClusterNode::new(
                "controlplane",
                Some(IpAddr::V4(Ipv4Addr::new(172, 30, 0, 2))),
            ),
            ClusterNode::new("node01", Some(IpAddr::V4(Ipv4Addr::new(172, 30, 0, 3)))),
            ClusterNode::new("node02", None),
        ],
    }
}

fn parse_pem(bytes: &[u8]) -> Pem {
    let (rest, pem) = x509_parser::pem::parse_x509_pem(bytes).expect("valid PEM");
    assert!(rest.iter().all(u8::is_ascii_whitespace), "one PEM block");
    pem
}

/// Every certificate of the PKI, by subject DN, so a leaf can find its issuer.
fn certificates(files: &[NodeFile]) -> Vec<(String, Pem)> {
    files
        .iter()
        .filter(|f| f.path.ends_with(".crt"))
        .map(|f| (f.path.clone(), parse_pem(&f.contents)))
        .collect()
}

fn san_text(name: &GeneralName) -> String {
    match name {
        GeneralName::DNSName(n) => format!("DNS:{n}"),
        GeneralName::IPAddress(b) if b.len() == 4 => {
            format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()))
        }
        GeneralName::IPAddress(b) if b.len() == 16 => {
            format!("IP:{}", IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()))
        }
        other => format!("{other:?}"),
    }
}

/// A stable description of one certificate; panics if it is not signed by the CA file
/// whose subject is its issuer.
fn describe_cert(cert: &X509Certificate, cas: &[(String, Pem)], out: &mut String) {
    let issuer_path = cas
        .iter()
        .find(|(_, pem)| {
            let ca = pem.parse_x509().unwrap();
            ca.is_ca() && ca.subject() == cert.issuer()
        })
        .map(|(p, _)| p.clone())
        .unwrap_or_else(|| panic!("no CA file with subject {}", cert.issuer()));
    let ca_pem = &cas.iter().find(|(p, _)| *p == issuer_path).unwrap().1;
    let ca = ca_pem.parse_x509().unwrap();
    cert.verify_signature(Some(ca.public_key()))
        .unwrap_or_else(|e| panic!("{} not signed by {issuer_path}: {e}", cert.subject()));

    let validity = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    writeln!(out, "    subject: {}", cert.subject()).unwrap();
    writeln!(out, "    issuer: {} ({issuer_path})", cert.issuer()).unwrap();
    writeln!(out, "    ca: {}", cert.is_ca()).unwrap();
    writeln!(
        out,
        "    validity: {} days + {} s (back-dated {} s)",
        validity / 86400,
        validity % 86400,
        // now - notBefore, rounded to the minute: shows kubeadm's 5-minute back-date.
        ((time::OffsetDateTime::now_utc().unix_timestamp()
            - cert.validity().not_before.timestamp())
            + 30)
            / 60
            * 60
    )
    .unwrap();
    if let Some(ku) = cert.key_usage().unwrap() {
        writeln!(
            out,
            "    key usage (critical={}): {}",
            ku.critical, ku.value
        )
        .unwrap();
    }
    if let Some(eku) = cert.extended_key_usage().unwrap() {
        let eku = eku.value;
        let mut names = Vec::new();
        if eku.server_auth {
            names.push("serverAuth");
        }
        if eku.client_auth {
            names.push("clientAuth");
        }
        writeln!(out, "    extended key usage: {}", names.join(", ")).unwrap();
    }
    if let Some(san) = cert.subject_alternative_name().unwrap() {
        let names: Vec<_> = san.value.general_names.iter().map(san_text).collect();
        writeln!(out, "    SANs: {}", names.join(", ")).unwrap();
    }
    let ski = cert.extensions().iter().any(|e| {
        matches!(
            e.parsed_extension(),
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(_)
        )
    });
    let aki = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.clone()
            }
            _ => None,
        });
    let ca_ski = ca
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.clone()),
            _ => None,
        });
    if let Some(aki) = aki {
        assert_eq!(
            Some(aki),
            ca_ski,
            "AKI of {} is its CA's SKI",
            cert.subject()
        );
    }
    writeln!(out, "    subject key id: {ski}").unwrap();
    writeln!(
        out,
        "    authority key id: {}",
        cert.extensions().iter().any(|e| matches!(
            e.parsed_extension(),
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(_)
        ))
    )
    .unwrap();
}

/// Asserts that `key_pem` is the private key of `cert`.
fn assert_key_matches(key_pem: &[u8], cert: &X509Certificate, what: &str) {
    let key = rcgen::KeyPair::from_pem(std::str::from_utf8(key_pem).unwrap())
        .unwrap_or_else(|e| panic!("{what}: key does not parse: {e}"));
    assert_eq!(
        key.public_key_raw(),
        cert.public_key().subject_public_key.data.as_ref(),
        "{what}: key belongs to its certificate"
    );
}

fn describe(pki: &KubernetesPki) -> String {
    let mut out = String::new();
    let cp_certs = certificates(pki.files("controlplane"));
    for (node, files) in pki.nodes() {
        writeln!(out, "node {node}:").unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), paths.len(), "no path twice on {node}");
        for file in files {
            writeln!(out, "  {} ({:o})", file.path, file.mode).unwrap();
            if file.path.ends_with(".crt") {
                let pem = parse_pem(&file.contents);
                let cert = pem.parse_x509().unwrap();
                describe_cert(&cert, &cp_certs, &mut out);
            } else if file.path.ends_with(".key") && !file.path.ends_with("sa.key") {
                let crt = file.path.replace(".key", ".crt");
                let cert_file = files
                    .iter()
                    .find(|f| f.path == crt)
                    .expect("key has a cert");
                let pem = parse_pem(&cert_file.contents);
                assert_key_matches(&file.contents, &pem.parse_x509().unwrap(), &file.path);
                writeln!(out, "    private key of {crt}").unwrap();
            } else if file.path.ends_with("sa.key") {
                let sa_pub = files.iter().find(|f| f.path.ends_with("sa.pub")).unwrap();
                let key =
                    rcgen::KeyPair::from_pem(std::str::from_utf8(&file.contents).unwrap()).unwrap();
                assert_eq!(key.public_key_pem().as_bytes(), sa_pub.contents);
                writeln!(
                    out,
                    "    service-account signing key, public half in sa.pub"
                )
                .unwrap();
            } else if file.path.ends_with("sa.pub") {
                let text = std::str::from_utf8(&file.contents).unwrap();
                assert!(text.starts_with("-----BEGIN PUBLIC KEY-----"));
                writeln!(out, "    PEM public key").unwrap();
            } else if file.path.ends_with(".conf") {
                describe_kubeconfig(file, &cp_certs, &mut out);
            } else {
                panic!("unexpected file {}", file.path);
            }
        }
    }
    out
}

fn describe_kubeconfig(file: &NodeFile, cas: &[(String, Pem)], out: &mut String) {
    let text = std::str::from_utf8(&file.contents).unwrap();
    let mut config: serde_json::Value = serde_norway::from_str(text).expect("kubeconfig is YAML");
    let decode = |v: &serde_json::Value| BASE64.decode(v.as_str().unwrap()).unwrap();
    let ca_data = decode(&config["clusters"][0]["cluster"]["certificate-authority-data"]);
    let ca_file = cas.iter().find(|(p, _)| p.ends_with("pki/ca.crt")).unwrap();
    assert_eq!(
        parse_pem(&ca_data).contents,
        ca_file.1.contents,
        "embedded CA is ca.crt"
    );
    let user = &config["users"][0]["user"];
    let cert_pem = parse_pem(&decode(&user["client-certificate-data"]));
    let cert = cert_pem.parse_x509().unwrap();
    assert_key_matches(&decode(&user["client-key-data"]), &cert, &file.path);
    // The snapshot shows the structure, the embedded certificate described in place.
    for pointer in [
        "/clusters/0/cluster/certificate-authority-data",
        "/users/0/user/client-certificate-data",
        "/users/0/user/client-key-data",
    ] {
        *config.pointer_mut(pointer).unwrap() = "<base64 PEM>".into();
    }
    for line in serde_norway::to_string(&config).unwrap().lines() {
        writeln!(out, "    | {line}").unwrap();
    }
    writeln!(out, "    client certificate:").unwrap();
    describe_cert(&cert, cas, out);
}

#[test]
fn every_file_matches_kubeadm_layout_and_verifies() {
    let pki = kubernetes_pki(&cluster(), &BTreeMap::new()).unwrap();
    insta::assert_snapshot!(describe(&pki));
}

#[test]
fn short_lived_certificates_end_sooner() {
    let short = BTreeMap::from([
        ("apiserver".to_owned(), Duration::from_secs(3600)),
        ("admin.conf".to_owned(), Duration::from_secs(2 * 86400)),
        ("etcd-server".to_owned(), Duration::from_secs(600)),
    ]);
    let pki = kubernetes_pki(&cluster(), &short).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let not_after = |path: &str| -> i64 {
        let file = pki
            .files("controlplane")
            .iter()
            .find(|f| f.path == path)
            .unwrap();
        let bytes = if path.ends_with(".conf") {
            let config: serde_json::Value =
                serde_norway::from_str(std::str::from_utf8(&file.contents).unwrap()).unwrap();
            BASE64
                .decode(
                    config["users"][0]["user"]["client-certificate-data"]
                        .as_str()
                        .unwrap(),
                )
                .unwrap()
        } else {
            file.contents.clone()
        };
        parse_pem(&bytes)
            .parse_x509()
            .unwrap()
            .validity()
            .not_after
            .timestamp()
            - now
    };
    let close = |actual: i64, expected: u64| (actual - expected as i64).abs() <= 60;
    assert!(close(not_after("/etc/kubernetes/pki/apiserver.crt"), 3600));
    assert!(close(not_after("/etc/kubernetes/pki/etcd/server.crt"), 600));
    assert!(close(not_after("/etc/kubernetes/admin.conf"), 2 * 86400));
    // Everything not named keeps its default.
    assert!(close(
        not_after("/etc/kubernetes/pki/etcd/peer.crt"),
        365 * 86400
    ));
    assert!(close(
        not_after("/etc/kubernetes/scheduler.conf"),
        365 * 86400
    ));
    assert!(close(not_after("/etc/kubernetes/pki/ca.crt"), 3650 * 86400));
}

#[test]
fn every_certificate_name_can_be_short_lived() {
    let short: BTreeMap<_, _> = CERTIFICATE_NAMES
        .iter()
        .map(|n| (n.to_string(), Duration::from_secs(7200)))
        .collect();
    let pki = kubernetes_pki(&cluster(), &short).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (node, files) in pki.nodes() {
        for file in files.iter().filter(|f| f.path.ends_with(".crt")) {
            let cert_pem = parse_pem(&file.contents);
            let left = cert_pem
                .parse_x509()
                .unwrap()
                .validity()
                .not_after
                .timestamp()
                - now;
            assert!(
                (left - 7200).abs() <= 60,
                "{node}:{} has {left} s",
                file.path
            );
        }
    }
}

/// Bad input: each case is a `short_lived` map or cluster, and the error it must give.
#[test]
fn bad_input_is_a_clear_error() {
    let cases: Vec<(&str, ClusterIdentity, BTreeMap<String, Duration>)> = vec![
        (
            "unknown name",
            cluster(),
            BTreeMap::from([("apiserver.crt".into(), Duration::from_secs(60))]),
        ),
        (
            "zero validity",
            cluster(),
            BTreeMap::from([("etcd-peer".into(), Duration::ZERO)]),
        ),
        (
            "validity past 9999",
            cluster(),
            BTreeMap::from([("ca".into(), Duration::from_secs(u64::MAX))]),
        ),
        (
            "no nodes",
            ClusterIdentity { nodes: vec![] },
            BTreeMap::new(),
        ),
        (
            "non-ASCII node name",
            ClusterIdentity {
                nodes: vec![ClusterNode::new("contrôle", None)],
            },
            BTreeMap::new(),
        ),
    ];
    let mut out = String::new();
    for (what, cluster, short) in cases {
        let err: PkiError = kubernetes_pki(&cluster, &short).expect_err(what);
        writeln!(out, "{what}: {err}").unwrap();
    }
    insta::assert_snapshot!(out);
}
