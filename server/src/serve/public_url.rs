//! The origin learners reach the server at (`--public-url`), and what follows from it:
//! the URLs of one session's web ports, which lessons' scripts and the nodes' files
//! (`/etc/killercoda/host`) give the learner. They are printed in a terminal, far from
//! any request, so they cannot come from a request's `Host`: the operator says it, or
//! the listen address does.

use std::net::SocketAddr;

use anyhow::bail;
use runner::SessionId;
use scenarios::TrafficUrls;

/// An origin: `http` or `https`, and a host with an optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    scheme: &'static str,
    host: String,
    /// `:PORT`, or empty for the scheme's own.
    port: String,
}

impl PublicUrl {
    /// `--public-url`: `http(s)://HOST[:PORT]`, a trailing `/` allowed, nothing else.
    pub fn parse(text: &str) -> anyhow::Result<PublicUrl> {
        let bad = || {
            format!(
                "--public-url {text:?}: expected an origin such as `https://labs.example.org` or `http://10.0.0.5:8080`"
            )
        };
        let (scheme, rest) = match text.split_once("://") {
            Some(("http", rest)) => ("http", rest),
            Some(("https", rest)) => ("https", rest),
            _ => bail!(bad()),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, Some(port)),
            _ => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
        if !host_ok || !port_ok {
            bail!(bad());
        }
        Ok(PublicUrl {
            scheme,
            // Lowercase, so that no `PORT` of a host name is taken for the port's place
            // in `/etc/killercoda/host`.
            host: host.to_ascii_lowercase(),
            port: port.map(|p| format!(":{p}")).unwrap_or_default(),
        })
    }

    /// Without `--public-url`: the listen address, as `localhost` when it is loopback
    /// or every address (a browser on this machine), and `https` with TLS.
    pub fn from_listen(listen: SocketAddr, tls: bool) -> PublicUrl {
        let ip = listen.ip();
        let host = if ip.is_loopback() || ip.is_unspecified() {
            "localhost".to_owned()
        } else {
            match listen {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            }
        };
        PublicUrl {
            scheme: if tls { "https" } else { "http" },
            host,
            port: format!(":{}", listen.port()),
        }
    }

    /// `scheme://host[:port]`, without a trailing `/`.
    pub fn origin(&self) -> String {
        format!("{}://{}{}", self.scheme, self.host, self.port)
    }
}

/// What the server knows of where web ports are: the public origin and, in host mode,
/// the traffic domain.
#[derive(Debug, Clone)]
pub struct PortUrls {
    pub public: PublicUrl,
    pub traffic_domain: Option<String>,
}

impl PortUrls {
    /// The URLs of `session`'s web ports. Host mode's when the server serves it (an app
    /// at `/` works wherever it is linked from), else path mode's; the selector page
    /// is path mode's either way.
    pub fn for_session(&self, session: &SessionId) -> TrafficUrls {
        let origin = self.public.origin();
        let template = match &self.traffic_domain {
            Some(domain) => format!(
                "{}://{{port}}-{{node}}-{session}.{domain}{}/",
                self.public.scheme, self.public.port
            ),
            None => format!("{origin}/ports/{session}/{{node}}/{{port}}/"),
        };
        TrafficUrls {
            template,
            selector: format!("{origin}/ports/{session}/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_an_origin() {
        let origin = |t: &str| PublicUrl::parse(t).map(|u| u.origin());
        assert_eq!(
            origin("https://Labs.Example.org/").unwrap(),
            "https://labs.example.org"
        );
        assert_eq!(
            origin("http://10.0.0.5:8080").unwrap(),
            "http://10.0.0.5:8080"
        );
        assert_eq!(origin("http://[::1]:9000").unwrap(), "http://[::1]:9000");
        for bad in [
            "labs.example.org",
            "ftp://x",
            "http://",
            "http://x/path",
            "http://x:0",
            "http://x:99999",
            "http://a b",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_one_the_listen_address_says_it() {
        let from = |a: &str, tls| PublicUrl::from_listen(a.parse().unwrap(), tls).origin();
        assert_eq!(from("127.0.0.1:8080", false), "http://localhost:8080");
        assert_eq!(from("0.0.0.0:80", true), "https://localhost:80");
        assert_eq!(from("10.1.2.3:8080", false), "http://10.1.2.3:8080");
        assert_eq!(from("[fd00::1]:8080", false), "http://[fd00::1]:8080");
    }

    #[test]
    fn a_sessions_urls_in_either_mode() {
        let session: SessionId = "abc123".parse().unwrap();
        let mut urls = PortUrls {
            public: PublicUrl::parse("http://localhost:8080").unwrap(),
            traffic_domain: None,
        };
        let path = urls.for_session(&session);
        assert_eq!(
            path.template,
            "http://localhost:8080/ports/abc123/{node}/{port}/"
        );
        assert_eq!(path.selector, "http://localhost:8080/ports/abc123/");
        urls.traffic_domain = Some("labs.localhost".into());
        let host = urls.for_session(&session);
        assert_eq!(
            host.template,
            "http://{port}-{node}-abc123.labs.localhost:8080/"
        );
        assert_eq!(host.selector, path.selector);
    }
}
