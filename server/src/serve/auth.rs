//! Who is asking: anonymous learners with a signed identity cookie, and the admin.
//!
//! A learner is a random id in a cookie signed with a key kept in the data directory
//! (`cookie.key`), so identities survive restarts and cannot be forged. With
//! `--auth open` the cookie is handed out on the first request; with `--auth code` only
//! `POST /api/join` with the right join code hands it out. The admin presents the admin
//! token as `Authorization: Bearer TOKEN`, as `?token=TOKEN` (WebSockets and
//! EventSource cannot set headers), or through the cookie `POST /api/admin/login` sets.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::SignedCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::config::AuthMode;

const LEARNER_COOKIE: &str = "playlab_learner";
const ADMIN_COOKIE: &str = "playlab_admin";

/// Whether a cookie is one of playlab's own (the web ports' proxy never lets them
/// through to a node, nor lets a node set them).
pub fn is_playlab_cookie(name: &str) -> bool {
    name == LEARNER_COOKIE || name == ADMIN_COOKIE
}

/// The caller of one request, put in the request's extensions by [`identify`];
/// handlers take it as an extractor.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `None` until a learner has joined (`--auth code`).
    pub learner: Option<String>,
    pub admin: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Identity, Infallible> {
        // Outside the middleware nobody is known: no learner, not the admin.
        Ok(parts
            .extensions
            .get::<Identity>()
            .cloned()
            .unwrap_or_default())
    }
}

pub struct Auth {
    key: Key,
    admin_token: String,
    mode: AuthMode,
    join_code: Option<String>,
    secure_cookies: bool,
    /// The nonces of redeemed port tickets, with when each ticket expires: a ticket is
    /// good once, as a link in a browser's history or a proxy's log must not sign
    /// anyone in again.
    redeemed: Mutex<HashMap<String, u64>>,
}

/// The most unexpired redeemed tickets remembered; beyond it redemption is refused
/// (until some expire) rather than memory grown. Tickets are only ever issued to a
/// caller who may use the session, and each is redeemable for a minute, so only
/// someone opening ports thousands of times a second comes near it.
const MAX_REDEEMED: usize = 100_000;

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// This server's instance id, created at first start and kept in the data directory.
/// The Docker backend labels environments with it, so that start-up reconciliation
/// removes only this server's orphans, never those of another server on the engine.
pub fn instance_id(data: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let (id, _) = read_or_create(&data.join("instance-id"), || random_token(16).into_bytes())?;
    Ok(String::from_utf8_lossy(&id).trim().to_owned())
}

/// Reads `path`, or creates it with `make()` readable by the owner only.
fn read_or_create(path: &Path, make: impl FnOnce() -> Vec<u8>) -> anyhow::Result<(Vec<u8>, bool)> {
    match std::fs::read(path) {
        Ok(bytes) => Ok((bytes, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = make();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            use std::io::Write;
            options
                .open(path)
                .and_then(|mut f| f.write_all(&bytes))
                .with_context(|| format!("writing {}", path.display()))?;
            Ok((bytes, true))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Auth {
    /// Loads (or creates at first start) the cookie key and the admin token from the
    /// data directory. A token given in the configuration wins over the stored one.
    pub fn open(
        data: &Path,
        admin_token: Option<String>,
        mode: AuthMode,
        join_code: Option<String>,
        secure_cookies: bool,
    ) -> anyhow::Result<Auth> {
        let (key, _) = read_or_create(&data.join("cookie.key"), || {
            let mut key = vec![0u8; 64];
            rand::rng().fill(&mut key[..]);
            key
        })?;
        let key = Key::try_from(&key[..])
            .map_err(|e| anyhow::anyhow!("{}: {e}", data.join("cookie.key").display()))?;
        let admin_token = match admin_token {
            Some(token) => token,
            None => {
                let path = data.join("admin-token");
                let (token, created) = read_or_create(&path, || random_token(32).into_bytes())?;
                let token = String::from_utf8_lossy(&token).trim().to_owned();
                if created {
                    // Printed once, at first start, for the operator to copy.
                    eprintln!(
                        "playlab: generated the admin token {token} (kept in {})",
                        path.display()
                    );
                }
                token
            }
        };
        Ok(Auth {
            key,
            admin_token,
            mode,
            join_code,
            secure_cookies,
            redeemed: Mutex::default(),
        })
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    pub fn is_admin_token(&self, token: &str) -> bool {
        same_secret(token, &self.admin_token)
    }

    pub fn is_join_code(&self, code: &str) -> bool {
        self.join_code
            .as_deref()
            .is_some_and(|c| same_secret(code, c))
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure_cookies)
            .permanent()
            .build()
    }

    /// A fresh learner identity as a cookie.
    pub fn new_learner(&self, jar: SignedCookieJar) -> (SignedCookieJar, String) {
        let id = random_token(20);
        (jar.add(self.cookie(LEARNER_COOKIE, id.clone())), id)
    }

    pub fn admin_cookie(&self, jar: SignedCookieJar) -> SignedCookieJar {
        jar.add(self.cookie(ADMIN_COOKIE, "1".into()))
    }

    pub fn jar(&self, headers: &axum::http::HeaderMap) -> SignedCookieJar {
        SignedCookieJar::from_headers(headers, self.key.clone())
    }

    /// Who sends `req`, by its signed cookies and admin token (as a bearer or in the
    /// query); hands nothing out. With the cookie jar it read.
    pub fn identity(&self, req: &Request) -> (SignedCookieJar, Identity) {
        let jar = self.jar(req.headers());
        let bearer = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let admin = bearer
            .or_else(|| query_token(req.uri().query()))
            .is_some_and(|t| self.is_admin_token(t))
            || jar.get(ADMIN_COOKIE).is_some();
        let learner = jar.get(LEARNER_COOKIE).map(|c| c.value().to_owned());
        (jar, Identity { learner, admin })
    }

    /// A ticket that carries `who` to a web port's own host (host mode), where the
    /// browser sends none of playlab's cookies: valid once, for [`PORT_TICKET_TTL`]
    /// and for that host only, signed with the cookie key. Its random nonce is what
    /// makes it once: two tickets for the same caller and host in the same second are
    /// still two.
    pub fn port_ticket(&self, host: &str, who: &Identity, now: SystemTime) -> String {
        let expires = (now + PORT_TICKET_TTL)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let nonce = random_token(16);
        let admin = if who.admin { "a" } else { "-" };
        let learner = who.learner.as_deref().unwrap_or("-");
        let claims = format!("{expires}.{nonce}.{admin}.{learner}");
        let mac = hex::encode(self.mac(host, &claims));
        format!("{claims}.{mac}")
    }

    /// Who a ticket from [`Self::port_ticket`] is, if it is this server's, for `host`,
    /// not expired and not redeemed before.
    pub fn redeem_port_ticket(
        &self,
        ticket: &str,
        host: &str,
        now: SystemTime,
    ) -> Option<Identity> {
        let (claims, mac) = ticket.rsplit_once('.')?;
        if !same_secret(mac, &hex::encode(self.mac(host, claims))) {
            return None;
        }
        let mut parts = claims.splitn(4, '.');
        let expires: u64 = parts.next()?.parse().ok()?;
        let nonce = parts.next()?;
        let admin = parts.next()? == "a";
        let learner = parts.next().filter(|l| *l != "-").map(str::to_owned);
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        if now > expires {
            return None;
        }
        let mut redeemed = self.redeemed.lock().unwrap_or_else(PoisonError::into_inner);
        // An expired ticket is refused by its time alone: its nonce may be forgotten.
        redeemed.retain(|_, until| *until >= now);
        if redeemed.len() >= MAX_REDEEMED || redeemed.contains_key(nonce) {
            return None;
        }
        redeemed.insert(nonce.to_owned(), expires);
        Some(Identity { learner, admin })
    }

    /// `who`'s cookies, for the host the jar's response goes to.
    pub fn identity_cookies(&self, jar: SignedCookieJar, who: &Identity) -> SignedCookieJar {
        let jar = match &who.learner {
            Some(learner) => jar.add(self.cookie(LEARNER_COOKIE, learner.clone())),
            None => jar,
        };
        if who.admin {
            self.admin_cookie(jar)
        } else {
            jar
        }
    }

    /// HMAC-SHA256 (RFC 2104) of `host` and `claims` under the cookie key's signing half.
    fn mac(&self, host: &str, claims: &str) -> [u8; 32] {
        const BLOCK: usize = 64;
        let mut key = [0u8; BLOCK];
        let signing = self.key.signing();
        if signing.len() > BLOCK {
            key[..32].copy_from_slice(&Sha256::digest(signing));
        } else {
            key[..signing.len()].copy_from_slice(signing);
        }
        let pad = |byte: u8| key.map(|k| k ^ byte);
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(format!("port-ticket\n{host}\n{claims}"))
            .finalize();
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize()
            .into()
    }
}

/// How long a web port ticket may be redeemed: a redirect's time, no more.
pub const PORT_TICKET_TTL: Duration = Duration::from_secs(60);

fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

/// Middleware: works out the [`Identity`] of every request, and in open mode gives a
/// new visitor its learner cookie. It needs only [`Auth`], so that the application
/// state (which builds `Auth`) stays above this module.
pub async fn identify(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let (jar, Identity { mut learner, admin }) = auth.identity(&req);
    let mut new_jar = None;
    if learner.is_none() && auth.mode == AuthMode::Open && req.uri().path().starts_with("/api/") {
        let (jar, id) = auth.new_learner(jar);
        learner = Some(id);
        new_jar = Some(jar);
    }
    req.extensions_mut().insert(Identity { learner, admin });
    let response = next.run(req).await;
    match new_jar {
        Some(jar) => (jar, response).into_response(),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_ticket_is_for_its_host_and_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(dir.path(), None, AuthMode::Open, None, false).unwrap();
        let other = Auth::open(
            tempfile::tempdir().unwrap().path(),
            None,
            AuthMode::Open,
            None,
            false,
        )
        .unwrap();
        let host = "8080-web-s1.localhost";
        let now = SystemTime::now();
        let who = Identity {
            learner: Some("alice".into()),
            admin: false,
        };
        let ticket = auth.port_ticket(host, &who, now);
        // Refused elsewhere, by another server, too late or forged...
        assert!(
            auth.redeem_port_ticket(&ticket, "8080-web-s2.localhost", now)
                .is_none()
        );
        assert!(other.redeem_port_ticket(&ticket, host, now).is_none());
        let later = now + PORT_TICKET_TTL + Duration::from_secs(1);
        assert!(auth.redeem_port_ticket(&ticket, host, later).is_none());
        let forged = ticket.replacen(".-.alice.", ".a.alice.", 1);
        assert!(auth.redeem_port_ticket(&forged, host, now).is_none());
        // ... and good once where it is for.
        let redeemed = auth.redeem_port_ticket(&ticket, host, now).unwrap();
        assert_eq!(
            (redeemed.learner.as_deref(), redeemed.admin),
            (Some("alice"), false)
        );
        assert!(auth.redeem_port_ticket(&ticket, host, now).is_none());
        // Another ticket for the same caller and host, in the same second, is another.
        let again = auth.port_ticket(host, &who, now);
        assert_ne!(again, ticket);
        assert!(auth.redeem_port_ticket(&again, host, now).is_some());
        let admin = Identity {
            learner: None,
            admin: true,
        };
        let ticket = auth.port_ticket(host, &admin, now);
        let redeemed = auth.redeem_port_ticket(&ticket, host, now).unwrap();
        assert_eq!((redeemed.learner, redeemed.admin), (None, true));
    }

    #[test]
    fn redeemed_tickets_are_forgotten_when_they_expire_and_bounded_before() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(dir.path(), None, AuthMode::Open, None, false).unwrap();
        let host = "8080-web-s1.localhost";
        let who = Identity::default();
        let now = SystemTime::now();
        for _ in 0..3 {
            let ticket = auth.port_ticket(host, &who, now);
            assert!(auth.redeem_port_ticket(&ticket, host, now).is_some());
        }
        let remembered = || auth.redeemed.lock().unwrap().len();
        assert_eq!(remembered(), 3);
        let later = now + PORT_TICKET_TTL + Duration::from_secs(1);
        let ticket = auth.port_ticket(host, &who, later);
        assert!(auth.redeem_port_ticket(&ticket, host, later).is_some());
        assert_eq!(remembered(), 1);
        // Full: refused, never grown.
        auth.redeemed
            .lock()
            .unwrap()
            .extend((0..MAX_REDEEMED).map(|i| (i.to_string(), u64::MAX)));
        let ticket = auth.port_ticket(host, &who, later);
        assert!(auth.redeem_port_ticket(&ticket, host, later).is_none());
        assert_eq!(remembered(), MAX_REDEEMED + 1);
    }

    #[test]
    fn key_and_token_persist_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let a = Auth::open(dir.path(), None, AuthMode::Open, None, false).unwrap();
        let b = Auth::open(dir.path(), None, AuthMode::Open, None, false).unwrap();
        assert_eq!(a.admin_token, b.admin_token);
        assert_eq!(a.admin_token.len(), 32);
        assert_eq!(a.key.master(), b.key.master());
        let c = Auth::open(
            dir.path(),
            Some("given".into()),
            AuthMode::Open,
            None,
            false,
        )
        .unwrap();
        assert!(c.is_admin_token("given"));
        assert!(!c.is_admin_token("givem"));
    }

    #[test]
    fn token_in_query() {
        assert_eq!(query_token(Some("cols=80&token=abc")), Some("abc"));
        assert_eq!(query_token(Some("cols=80")), None);
        assert_eq!(query_token(None), None);
    }
}
