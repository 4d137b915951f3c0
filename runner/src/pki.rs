//! Per-session Kubernetes PKI, generated the way `kubeadm init` would.
//!
//! A lesson with `environment.pki: kubernetes` gets, in every session, a fresh set of
//! certificate authorities and certificates laid out exactly as kubeadm lays them out:
//! `/etc/kubernetes/pki/{ca,apiserver,apiserver-kubelet-client,front-proxy-ca,
//! front-proxy-client,apiserver-etcd-client}.{crt,key}`, `/etc/kubernetes/pki/etcd/
//! {ca,server,peer,healthcheck-client}.{crt,key}`, `sa.key`/`sa.pub`, and the kubeconfigs
//! `/etc/kubernetes/{admin,super-admin,controller-manager,scheduler,kubelet}.conf` with
//! their client certificates embedded. Subjects, organizations, key usages, SANs and
//! validity periods follow kubeadm (v1.29 and later), so what a learner reads with
//! `openssl x509 -text` or `kubeadm certs check-expiration` is what a real cluster shows.
//!
//! **Key algorithm.** Every key is ECDSA P-256, which is kubeadm's
//! `encryptionAlgorithm: ECDSA-P256` setting (kubeadm's default is RSA 2048). rcgen
//! generates P-256 keys with its default `ring` provider; RSA key generation would need
//! rcgen's `aws_lc_rs` feature (a C/cmake build) or the `rsa` crate (seconds per key in
//! debug builds, 13 keys per session). kube-apiserver accepts ECDSA service-account keys
//! (ES256), so nothing a lesson does depends on RSA.
//!
//! The first node of the [`ClusterIdentity`] is the control plane (the node where
//! `kubeadm init` would run): it gets the whole PKI and every kubeconfig. The other
//! nodes get what `kubeadm join` leaves on a worker: `pki/ca.crt` and their own
//! `kubelet.conf`.
//!
//! The output is a list of [`NodeFile`]s per node, the form backends already copy lesson
//! assets in.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::environment::file::NodeFile;

/// Where kubeadm keeps certificates and keys.
pub const PKI_DIR: &str = "/etc/kubernetes/pki";
/// Where kubeadm keeps kubeconfig files.
pub const KUBECONFIG_DIR: &str = "/etc/kubernetes";
/// The port kube-apiserver listens on; kubeconfigs point there.
pub const APISERVER_PORT: u16 = 6443;
/// The first address of kubeadm's default service CIDR `10.96.0.0/12`: the
/// `kubernetes.default` Service, which must be in the API server's certificate.
pub const KUBERNETES_SERVICE_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 96, 0, 1));

/// How long a certificate authority is valid (kubeadm: 10 years).
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a leaf certificate is valid (kubeadm: 1 year).
pub const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// kubeadm back-dates `notBefore` so that nodes whose clocks lag a little accept fresh
/// certificates.
const BACKDATE: Duration = Duration::from_secs(5 * 60);

const CERT_MODE: u32 = 0o644;
const SECRET_MODE: u32 = 0o600;

/// The names a lesson can use in `pki.short_lived`: kubeadm's own names for its
/// certificates (as `kubeadm certs check-expiration` and `kubeadm certs renew` print
/// them), plus `kubelet.conf`.
pub const CERTIFICATE_NAMES: &[&str] = &[
    "ca",
    "etcd-ca",
    "front-proxy-ca",
    "apiserver",
    "apiserver-kubelet-client",
    "apiserver-etcd-client",
    "front-proxy-client",
    "etcd-server",
    "etcd-peer",
    "etcd-healthcheck-client",
    "admin.conf",
    "super-admin.conf",
    "controller-manager.conf",
    "scheduler.conf",
    "kubelet.conf",
];

/// The nodes a PKI is issued for, in environment order: the first is the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterIdentity {
    pub nodes: Vec<ClusterNode>,
}

/// One node: its name (hostname) and, when the backend knows it, its address on the
/// session network. Both go into the server certificates' SANs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub name: String,
    pub ip: Option<IpAddr>,
}

impl ClusterNode {
    pub fn new(name: impl Into<String>, ip: Option<IpAddr>) -> Self {
        ClusterNode {
            name: name.into(),
            ip,
        }
    }
}

/// The generated PKI: the files each node gets.
#[derive(Debug, Clone)]
pub struct KubernetesPki {
    files: BTreeMap<String, Vec<NodeFile>>,
}

impl KubernetesPki {
    /// The files for `node`; empty for a node the PKI was not issued for.
    pub fn files(&self, node: &str) -> &[NodeFile] {
        self.files.get(node).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every node's files, by node name.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &[NodeFile])> {
        self.files.iter().map(|(n, f)| (n.as_str(), f.as_slice()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("the environment has no nodes to issue a PKI for")]
    NoNodes,
    #[error("pki.short_lived names unknown certificate {name:?}; known: {}", CERTIFICATE_NAMES.join(", "))]
    UnknownCertificate { name: String },
    #[error("pki.short_lived gives {name:?} a validity of zero")]
    ZeroValidity { name: String },
    #[error("pki.short_lived gives {name:?} a validity beyond the year 9999")]
    ValidityTooLong { name: String },
    #[error("cannot issue {name}: {source}")]
    Certificate {
        name: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot write kubeconfig {name}: {source}")]
    Kubeconfig {
        name: String,
        #[source]
        source: serde_norway::Error,
    },
}

/// Generates the PKI kubeadm would create for `cluster`. `short_lived` maps names from
/// [`CERTIFICATE_NAMES`] to a validity shorter than the default, so a lesson can teach
/// renewal.
pub fn kubernetes_pki(
    cluster: &ClusterIdentity,
    short_lived: &BTreeMap<String, Duration>,
) -> Result<KubernetesPki, PkiError> {
    let issuing = Issuing::new(short_lived)?;
    let control_plane = cluster.nodes.first().ok_or(PkiError::NoNodes)?;
    let authorities = Authorities::new(&issuing)?;

    let mut cp_files = authorities.files();
    for leaf in control_plane_leaves(&authorities, control_plane)? {
        let (cert, key) = issuing.leaf(&leaf)?;
        cp_files.extend(pki_pair(leaf.file, &cert, &key));
    }
    cp_files.extend(service_account_keys()?);
    let kubeconfigs = Kubeconfigs {
        issuing: &issuing,
        ca: &authorities.ca,
        server: format!("https://{}:{APISERVER_PORT}", control_plane.name),
    };
    for (file, user, org) in CONTROL_PLANE_KUBECONFIGS {
        cp_files.push(kubeconfigs.issue(file, user, org)?);
    }

    let mut files = BTreeMap::new();
    for (index, node) in cluster.nodes.iter().enumerate() {
        let kubelet = kubeconfigs.issue(
            "kubelet.conf",
            &format!("system:node:{}", node.name),
            Some("system:nodes"),
        )?;
        let node_files = if index == 0 {
            let mut all = cp_files.clone();
            all.push(kubelet);
            all
        } else {
            vec![
                NodeFile {
                    path: format!("{PKI_DIR}/ca.crt"),
                    contents: authorities.ca.cert.pem().into_bytes(),
                    mode: CERT_MODE,
                },
                kubelet,
            ]
        };
        files.insert(node.name.clone(), node_files);
    }
    Ok(KubernetesPki { files })
}

/// The control plane's kubeconfigs besides its kubelet's: file, user, organization.
const CONTROL_PLANE_KUBECONFIGS: [(&str, &str, Option<&str>); 4] = [
    (
        "admin.conf",
        "kubernetes-admin",
        Some("kubeadm:cluster-admins"),
    ),
    (
        "super-admin.conf",
        "kubernetes-super-admin",
        Some("system:masters"),
    ),
    (
        "controller-manager.conf",
        "system:kube-controller-manager",
        None,
    ),
    ("scheduler.conf", "system:kube-scheduler", None),
];

/// kubeadm's three certificate authorities.
struct Authorities {
    ca: Authority,
    etcd_ca: Authority,
    front_proxy_ca: Authority,
}

impl Authorities {
    fn new(issuing: &Issuing) -> Result<Authorities, PkiError> {
        Ok(Authorities {
            ca: issuing.ca("ca", "kubernetes")?,
            etcd_ca: issuing.ca("etcd-ca", "etcd-ca")?,
            front_proxy_ca: issuing.ca("front-proxy-ca", "front-proxy-ca")?,
        })
    }

    /// Each authority's certificate and key, where kubeadm puts them.
    fn files(&self) -> Vec<NodeFile> {
        [
            (&self.ca, "ca"),
            (&self.etcd_ca, "etcd/ca"),
            (&self.front_proxy_ca, "front-proxy-ca"),
        ]
        .into_iter()
        .flat_map(|(authority, file)| pki_pair(file, &authority.cert.pem(), &authority.key_pem))
        .collect()
    }
}

/// The leaf certificates of the control plane, with the names each is reached by.
fn control_plane_leaves<'a>(
    authorities: &'a Authorities,
    control_plane: &'a ClusterNode,
) -> Result<[Leaf<'a>; 7], PkiError> {
    let Authorities {
        ca,
        etcd_ca,
        front_proxy_ca,
    } = authorities;
    let name = control_plane.name.as_str();
    // The API server is reached by its in-cluster Service names, the Service IP, and the
    // control-plane node's name and address.
    let mut apiserver_sans = dns_sans(&[
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        name,
    ])?;
    apiserver_sans.push(SanType::IpAddress(KUBERNETES_SERVICE_IP));
    apiserver_sans.extend(control_plane.ip.map(SanType::IpAddress));

    // etcd serves and peers on the node's own name and address, and on loopback for the
    // local API server and `etcdctl`.
    let mut etcd_sans = dns_sans(&[name, "localhost"])?;
    etcd_sans.extend(control_plane.ip.map(SanType::IpAddress));
    etcd_sans.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    etcd_sans.push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));

    use Usage::{Client, Server, ServerAndClient};
    Ok([
        Leaf::new("apiserver", "apiserver", ca, "kube-apiserver", Server).sans(apiserver_sans),
        Leaf::new(
            "apiserver-kubelet-client",
            "apiserver-kubelet-client",
            ca,
            "kube-apiserver-kubelet-client",
            Client,
        )
        .org("kubeadm:cluster-admins"),
        Leaf::new(
            "front-proxy-client",
            "front-proxy-client",
            front_proxy_ca,
            "front-proxy-client",
            Client,
        ),
        Leaf::new("etcd-server", "etcd/server", etcd_ca, name, ServerAndClient)
            .sans(etcd_sans.clone()),
        Leaf::new("etcd-peer", "etcd/peer", etcd_ca, name, ServerAndClient).sans(etcd_sans),
        Leaf::new(
            "etcd-healthcheck-client",
            "etcd/healthcheck-client",
            etcd_ca,
            "kube-etcd-healthcheck-client",
            Client,
        ),
        Leaf::new(
            "apiserver-etcd-client",
            "apiserver-etcd-client",
            etcd_ca,
            "kube-apiserver-etcd-client",
            Client,
        ),
    ])
}

/// The service-account signing key pair: not a certificate, just the keys.
fn service_account_keys() -> Result<[NodeFile; 2], PkiError> {
    let sa = KeyPair::generate().map_err(|source| PkiError::Certificate {
        name: "sa".into(),
        source,
    })?;
    Ok([
        secret(format!("{PKI_DIR}/sa.key"), sa.serialize_pem()),
        NodeFile {
            path: format!("{PKI_DIR}/sa.pub"),
            contents: sa.public_key_pem().into_bytes(),
            mode: CERT_MODE,
        },
    ])
}

/// Issues kubeconfigs: a client certificate from the cluster CA, embedded with the CA
/// in a kubeconfig pointing at the API server.
struct Kubeconfigs<'a> {
    issuing: &'a Issuing<'a>,
    ca: &'a Authority,
    server: String,
}

impl Kubeconfigs<'_> {
    /// `file` under [`KUBECONFIG_DIR`], for user `user` (the certificate's common name)
    /// in `organization`.
    fn issue(
        &self,
        file: &str,
        user: &str,
        organization: Option<&str>,
    ) -> Result<NodeFile, PkiError> {
        let mut leaf = Leaf::new(file, file, self.ca, user, Usage::Client);
        if let Some(org) = organization {
            leaf = leaf.org(org);
        }
        let (cert, key) = self.issuing.leaf(&leaf)?;
        let ca_pem = self.ca.cert.pem();
        let yaml = Kubeconfig::new(&self.server, &ca_pem, user, &cert, &key).to_yaml(file)?;
        Ok(secret(format!("{KUBECONFIG_DIR}/{file}"), yaml))
    }
}

/// A certificate authority: its certificate (which signs) and its key in PEM.
struct Authority {
    cert: CertifiedIssuer<'static, KeyPair>,
    key_pem: String,
}

/// What a leaf certificate is for (its extended key usage).
#[derive(Clone, Copy)]
enum Usage {
    Server,
    Client,
    ServerAndClient,
}

/// One leaf certificate to issue.
struct Leaf<'a> {
    /// The kubeadm name (`etcd-server`), for `short_lived` and errors.
    name: &'a str,
    /// The path under [`PKI_DIR`] without extension (`etcd/server`).
    file: &'a str,
    issuer: &'a Authority,
    common_name: &'a str,
    organization: Option<&'a str>,
    usage: Usage,
    sans: Vec<SanType>,
}

impl<'a> Leaf<'a> {
    fn new(
        name: &'a str,
        file: &'a str,
        issuer: &'a Authority,
        common_name: &'a str,
        usage: Usage,
    ) -> Self {
        Leaf {
            name,
            file,
            issuer,
            common_name,
            organization: None,
            usage,
            sans: Vec::new(),
        }
    }

    fn org(mut self, organization: &'a str) -> Self {
        self.organization = Some(organization);
        self
    }

    fn sans(mut self, sans: Vec<SanType>) -> Self {
        self.sans = sans;
        self
    }
}

/// The clock and validity overrides shared by every certificate of one PKI.
struct Issuing<'a> {
    now: OffsetDateTime,
    short_lived: &'a BTreeMap<String, Duration>,
}

impl<'a> Issuing<'a> {
    fn new(short_lived: &'a BTreeMap<String, Duration>) -> Result<Self, PkiError> {
        let now = OffsetDateTime::now_utc();
        for (name, validity) in short_lived {
            if !CERTIFICATE_NAMES.contains(&name.as_str()) {
                return Err(PkiError::UnknownCertificate { name: name.clone() });
            }
            if validity.is_zero() {
                return Err(PkiError::ZeroValidity { name: name.clone() });
            }
            match now.checked_add(time_duration(*validity)) {
                Some(end) if end.year() <= 9999 => {}
                _ => return Err(PkiError::ValidityTooLong { name: name.clone() }),
            }
        }
        Ok(Issuing { now, short_lived })
    }

    /// Parameters every certificate shares: subject, validity (back-dated like kubeadm,
    /// `short_lived` overriding the default), and the key-identifier extensions.
    fn params(
        &self,
        name: &str,
        common_name: &str,
        organization: Option<&str>,
        default_validity: Duration,
    ) -> CertificateParams {
        let validity = self
            .short_lived
            .get(name)
            .copied()
            .unwrap_or(default_validity);
        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        if let Some(org) = organization {
            subject.push(DnType::OrganizationName, org);
        }
        subject.push(DnType::CommonName, common_name);
        params.distinguished_name = subject;
        params.not_before = self.now - time_duration(BACKDATE);
        params.not_after = self.now + time_duration(validity);
        params.use_authority_key_identifier_extension = true;
        params
    }

    fn ca(&self, name: &str, common_name: &str) -> Result<Authority, PkiError> {
        let wrap = |source| PkiError::Certificate {
            name: name.to_owned(),
            source,
        };
        let mut params = self.params(name, common_name, None, CA_VALIDITY);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // kubeadm's CAs also carry keyEncipherment, which only means something for RSA.
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ];
        // A self-signed CA has no authority key identifier in kubeadm's output either.
        params.use_authority_key_identifier_extension = false;
        let key = KeyPair::generate().map_err(wrap)?;
        let key_pem = key.serialize_pem();
        let cert = CertifiedIssuer::self_signed(params, key).map_err(wrap)?;
        Ok(Authority { cert, key_pem })
    }

    /// Issues `leaf`; returns the certificate and key in PEM.
    fn leaf(&self, leaf: &Leaf) -> Result<(String, String), PkiError> {
        let wrap = |source| PkiError::Certificate {
            name: leaf.name.to_owned(),
            source,
        };
        let mut params = self.params(
            leaf.name,
            leaf.common_name,
            leaf.organization,
            LEAF_VALIDITY,
        );
        // kubeadm adds keyEncipherment only for RSA keys; ECDSA keys only sign.
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match leaf.usage {
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Usage::ServerAndClient => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        };
        params.subject_alt_names = leaf.sans.clone();
        let key = KeyPair::generate().map_err(wrap)?;
        let cert = params.signed_by(&key, &leaf.issuer.cert).map_err(wrap)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

fn time_duration(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}

/// DNS SANs for `names`; a name that is not ASCII is a clear error, not a dropped SAN.
fn dns_sans(names: &[&str]) -> Result<Vec<SanType>, PkiError> {
    names
        .iter()
        .map(|name| {
            name.to_string()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|source| PkiError::Certificate {
                    name: format!("SAN {name:?}"),
                    source,
                })
        })
        .collect()
}

/// `<file>.crt` (world-readable) and `<file>.key` (owner only) under [`PKI_DIR`].
fn pki_pair(file: &str, cert_pem: &str, key_pem: &str) -> [NodeFile; 2] {
    [
        NodeFile {
            path: format!("{PKI_DIR}/{file}.crt"),
            contents: cert_pem.as_bytes().to_vec(),
            mode: CERT_MODE,
        },
        secret(format!("{PKI_DIR}/{file}.key"), key_pem.to_owned()),
    ]
}

fn secret(path: String, contents: String) -> NodeFile {
    NodeFile {
        path,
        contents: contents.into_bytes(),
        mode: SECRET_MODE,
    }
}

/// A kubeconfig as kubeadm writes it: one cluster (`kubernetes`), one user, one context
/// `<user>@kubernetes`, with the CA and client credentials embedded as base64.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    clusters: Vec<Named<ClusterEntry>>,
    contexts: Vec<Named<ContextEntry>>,
    current_context: String,
    kind: &'static str,
    preferences: BTreeMap<String, String>,
    users: Vec<Named<UserEntry>>,
}

#[derive(Serialize)]
struct Named<T> {
    #[serde(flatten)]
    entry: T,
    name: String,
}

#[derive(Serialize)]
struct ClusterEntry {
    cluster: ClusterData,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterData {
    certificate_authority_data: String,
    server: String,
}

#[derive(Serialize)]
struct ContextEntry {
    context: ContextData,
}

#[derive(Serialize)]
struct ContextData {
    cluster: String,
    user: String,
}

#[derive(Serialize)]
struct UserEntry {
    user: UserData,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct UserData {
    client_certificate_data: String,
    client_key_data: String,
}

impl Kubeconfig {
    const CLUSTER: &'static str = "kubernetes";

    fn new(server: &str, ca_pem: &str, user: &str, cert_pem: &str, key_pem: &str) -> Self {
        let context = format!("{user}@{}", Self::CLUSTER);
        Kubeconfig {
            api_version: "v1",
            clusters: vec![Named {
                entry: ClusterEntry {
                    cluster: ClusterData {
                        certificate_authority_data: BASE64.encode(ca_pem),
                        server: server.to_owned(),
                    },
                },
                name: Self::CLUSTER.to_owned(),
            }],
            contexts: vec![Named {
                entry: ContextEntry {
                    context: ContextData {
                        cluster: Self::CLUSTER.to_owned(),
                        user: user.to_owned(),
                    },
                },
                name: context.clone(),
            }],
            current_context: context,
            kind: "Config",
            preferences: BTreeMap::new(),
            users: vec![Named {
                entry: UserEntry {
                    user: UserData {
                        client_certificate_data: BASE64.encode(cert_pem),
                        client_key_data: BASE64.encode(key_pem),
                    },
                },
                name: user.to_owned(),
            }],
        }
    }

    fn to_yaml(&self, file: &str) -> Result<String, PkiError> {
        serde_norway::to_string(self).map_err(|source| PkiError::Kubeconfig {
            name: file.to_owned(),
            source,
        })
    }
}
