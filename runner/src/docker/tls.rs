//! TLS to Docker engines with client certificates: the files a client presents, in
//! Docker's own layout (a folder with `ca.pem`, `cert.pem`, `key.pem`, what
//! `DOCKER_CERT_PATH` names), and the pool's certificate authority that issues them
//! (`playlab swarm certs`): one server certificate per host, for the addresses playlab
//! reaches it at, and one client certificate for playlab. An engine started with
//! `--tlsverify` and that CA accepts only clients holding a certificate of that CA.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::error::RunnerError;

/// A folder of client TLS files in Docker's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles(pub PathBuf);

impl ClientFiles {
    pub fn ca(&self) -> PathBuf {
        self.0.join("ca.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.0.join("cert.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.0.join("key.pem")
    }

    /// The rustls configuration these files make: trust only the CA, present the
    /// client certificate.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, RunnerError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |what: &str, path: &Path, e: &dyn std::fmt::Display| RunnerError::Io {
            context: format!("reading the engine TLS {what} {}: {e}", path.display()),
            source: io::ErrorKind::InvalidData.into(),
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in
            CertificateDer::pem_file_iter(self.ca()).map_err(|e| bad("CA", &self.ca(), &e))?
        {
            let cert = cert.map_err(|e| bad("CA", &self.ca(), &e))?;
            roots.add(cert).map_err(|e| bad("CA", &self.ca(), &e))?;
        }
        let chain = CertificateDer::pem_file_iter(self.cert())
            .map_err(|e| bad("certificate", &self.cert(), &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("certificate", &self.cert(), &e))?;
        let key =
            PrivateKeyDer::from_pem_file(self.key()).map_err(|e| bad("key", &self.key(), &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("configuration", &self.0, &e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| bad("certificate", &self.cert(), &e))?;
        Ok(Arc::new(config))
    }
}

/// One host of a pool, as playlab reaches its engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolHost {
    /// A name for the host's folder (its hostname).
    pub name: String,
    /// Every address playlab may reach the engine at (the swarm's advertised one).
    pub addresses: Vec<IpAddr>,
}

/// A pool's CA, playlab's client certificate, and each host's server certificate.
pub struct PoolCertificates {
    ca_pem: String,
    ca_key_pem: String,
    client: (String, String),
    hosts: Vec<(PoolHost, String, String)>,
}

/// How long the pool's certificates are valid: a training lab's year and then some.
const VALIDITY_DAYS: i64 = 825;

#[derive(Debug, thiserror::Error)]
#[error("issuing the pool's {what} certificate: {source}")]
pub struct CertError {
    what: String,
    source: rcgen::Error,
}

impl PoolCertificates {
    pub fn issue(hosts: &[PoolHost]) -> Result<PoolCertificates, CertError> {
        let wrap = |what: &str| {
            let what = what.to_owned();
            move |source| CertError { what, source }
        };
        let now = OffsetDateTime::now_utc();
        let params = |common_name: &str| {
            let mut params = CertificateParams::default();
            let mut subject = DistinguishedName::new();
            subject.push(DnType::OrganizationName, "playlab pool");
            subject.push(DnType::CommonName, common_name);
            params.distinguished_name = subject;
            params.not_before = now - Duration::hours(1);
            params.not_after = now + Duration::days(VALIDITY_DAYS);
            params
        };
        let mut ca_params = params("playlab pool CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(wrap("CA"))?;
        let ca_key_pem = ca_key.serialize_pem();
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(wrap("CA"))?;
        let leaf = |common_name: &str, usage: ExtendedKeyUsagePurpose, sans: Vec<SanType>| {
            let mut leaf = params(common_name);
            leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            leaf.extended_key_usages = vec![usage];
            leaf.subject_alt_names = sans;
            leaf.use_authority_key_identifier_extension = true;
            let key = KeyPair::generate().map_err(wrap(common_name))?;
            let cert = leaf.signed_by(&key, &ca).map_err(wrap(common_name))?;
            Ok::<_, CertError>((cert.pem(), key.serialize_pem()))
        };
        let client = leaf("playlab", ExtendedKeyUsagePurpose::ClientAuth, Vec::new())?;
        let hosts = hosts
            .iter()
            .map(|host| {
                let sans = host
                    .addresses
                    .iter()
                    .map(|ip| SanType::IpAddress(*ip))
                    .collect();
                let (cert, key) = leaf(&host.name, ExtendedKeyUsagePurpose::ServerAuth, sans)?;
                Ok((host.clone(), cert, key))
            })
            .collect::<Result<_, CertError>>()?;
        Ok(PoolCertificates {
            ca_pem: ca.pem(),
            ca_key_pem,
            client,
            hosts,
        })
    }

    /// Writes `dir/{ca,cert,key}.pem` (playlab's client files, for `--swarm-tls dir`),
    /// `dir/ca-key.pem`, and `dir/hosts/<name>/{ca,server-cert,server-key}.pem` for
    /// each host's engine. Keys are readable by their owner only.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        write_file(&dir.join("ca.pem"), &self.ca_pem, 0o644)?;
        write_file(&dir.join("ca-key.pem"), &self.ca_key_pem, 0o600)?;
        write_file(&dir.join("cert.pem"), &self.client.0, 0o644)?;
        write_file(&dir.join("key.pem"), &self.client.1, 0o600)?;
        for (host, cert, key) in &self.hosts {
            let folder = host_folder(dir, &host.name);
            write_file(&folder.join("ca.pem"), &self.ca_pem, 0o644)?;
            write_file(&folder.join("server-cert.pem"), cert, 0o644)?;
            write_file(&folder.join("server-key.pem"), key, 0o600)?;
        }
        Ok(())
    }
}

/// Where [`PoolCertificates::write`] puts a host's files.
pub fn host_folder(dir: &Path, host: &str) -> PathBuf {
    dir.join("hosts").join(host)
}

fn write_file(path: &Path, contents: &str, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    io::Write::write_all(&mut file, contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `write` leaves is what a client loads, and the server certificates name
    /// their hosts' addresses; missing files are an error naming the file.
    #[test]
    fn written_certificates_make_a_client_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = [PoolHost {
            name: "lab1".into(),
            addresses: vec!["10.0.0.5".parse().unwrap()],
        }];
        PoolCertificates::issue(&hosts)
            .unwrap()
            .write(dir.path())
            .unwrap();
        let files = ClientFiles(dir.path().to_owned());
        assert!(files.client_config().is_ok());
        let server = fs::read_to_string(host_folder(dir.path(), "lab1").join("server-cert.pem"));
        let (_, pem) = x509_parser::pem::parse_x509_pem(server.unwrap().as_bytes()).unwrap();
        let cert = pem.parse_x509().unwrap();
        let sans = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            format!("{:?}", sans.value.general_names),
            "[IPAddress([10, 0, 0, 5])]"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(files.key()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let missing = ClientFiles(dir.path().join("nothing-here"));
        let error = missing.client_config().unwrap_err().to_string();
        assert!(error.contains("nothing-here/ca.pem"), "{error}");
    }

    #[test]
    fn tls_is_for_tcp_engines_only() {
        let files = ClientFiles(PathBuf::from("/etc/playlab/pool"));
        let tcp = super::super::EngineAddress::parse("tcp://10.0.0.5:2376").unwrap();
        assert_eq!(
            tcp.with_tls(files.clone()).to_string(),
            "tcp://10.0.0.5:2376 (TLS)"
        );
        let unix = super::super::EngineAddress::parse("unix:///run/docker.sock").unwrap();
        assert_eq!(unix.clone().with_tls(files), unix);
    }
}
