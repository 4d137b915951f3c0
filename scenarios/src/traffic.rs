//! Killercoda's traffic markers: `{{TRAFFIC_HOST1_80}}` (port 80 of the lesson's first
//! node, as the learner's browser reaches it) and `{{TRAFFIC_SELECTOR}}` (a page where
//! the learner picks a node and a port).
//!
//! One grammar for every place a marker is read: [`crate::render`] turns markers in
//! Markdown into links the web UI completes, lint reports the malformed ones, and
//! [`Lesson::with_traffic`] writes one session's URLs into the lesson's scripts (so a
//! script's `echo {{TRAFFIC_HOST1_80}}` prints a link that works).

use crate::model::{Check, Lesson, Script, TrafficUrls};

/// What a well-formed marker names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficMarker {
    /// A port of the `host`-th node (from 1) in environment order.
    Host {
        host: usize,
        port: u16,
    },
    Selector,
}

/// One `{{TRAFFIC_…}}` found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte offset of the opening `{{`.
    pub offset: usize,
    /// Byte length from `{{` to `}}` included.
    pub len: usize,
    /// The marker, or why it cannot be read.
    pub marker: Result<TrafficMarker, String>,
}

const PREFIX: &str = "TRAFFIC_";

/// Every `{{TRAFFIC_…}}` in `text`, in order; other `{{…}}` (actions) are not ours.
pub fn find(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("{{").map(|i| from + i) {
        let inner = &text[start + 2..];
        let Some(end) = inner
            .find("}}")
            .filter(|&e| !inner[..e].contains(['{', '\n']))
        else {
            from = start + 2;
            continue;
        };
        match parse(&inner[..end]) {
            Some(marker) => {
                found.push(Found {
                    offset: start,
                    len: end + 4,
                    marker,
                });
                from = start + end + 4;
            }
            None => from = start + 2,
        }
    }
    found
}

/// The inside of a `{{…}}`: `None` when it is not a traffic marker at all.
pub fn parse(inner: &str) -> Option<Result<TrafficMarker, String>> {
    let name = inner.trim().strip_prefix(PREFIX)?;
    if name == "SELECTOR" {
        return Some(Ok(TrafficMarker::Selector));
    }
    let malformed = || {
        format!(
            "cannot read `{{{{{}}}}}`: write `{{{{TRAFFIC_HOSTn_PORT}}}}` (n from 1, PORT 1-65535) or `{{{{TRAFFIC_SELECTOR}}}}`",
            inner.trim()
        )
    };
    let Some((host, port)) = name.strip_prefix("HOST").and_then(|r| r.split_once('_')) else {
        return Some(Err(malformed()));
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(host) || !digits(port) {
        return Some(Err(malformed()));
    }
    match (host.parse::<usize>(), port.parse::<u16>()) {
        (Ok(host), Ok(port)) if host >= 1 && port >= 1 => {
            Some(Ok(TrafficMarker::Host { host, port }))
        }
        _ => Some(Err(malformed())),
    }
}

impl TrafficMarker {
    /// The node a host marker names among `nodes` (environment order), if there is one.
    pub fn node<'n>(&self, nodes: &'n [String]) -> Option<&'n str> {
        match self {
            TrafficMarker::Host { host, .. } => nodes.get(host - 1).map(String::as_str),
            TrafficMarker::Selector => None,
        }
    }
}

impl TrafficUrls {
    /// The URL of `port` on `node`.
    pub fn port_url(&self, node: &str, port: &str) -> String {
        self.template
            .replace("{node}", node)
            .replace("{port}", port)
    }
}

impl Lesson {
    /// The lesson as one session runs it: every script's traffic markers (setup,
    /// foreground and background, step setup, solutions, shell checks and WASM probes)
    /// replaced by that session's URLs, and `urls` kept for the files the environment
    /// gets (`/etc/killercoda/host`). A marker naming a node the lesson does not have,
    /// or a malformed one, is left as it is (lint warns about it).
    pub fn with_traffic(&self, urls: &TrafficUrls) -> Lesson {
        let nodes = self.environment.node_names();
        let fill = |text: &mut String| *text = substitute(text, &nodes, urls);
        let mut lesson = self.clone();
        let scripts = |list: &mut Vec<Script>| list.iter_mut().for_each(|s| fill(&mut s.run));
        scripts(&mut lesson.setup);
        for step in &mut lesson.steps {
            scripts(&mut step.setup);
            scripts(&mut step.solve);
            for check in &mut step.checks {
                match check {
                    Check::Shell(c) => fill(&mut c.run),
                    Check::Wasm(c) => c.probes.iter_mut().for_each(|p| fill(&mut p.run)),
                }
            }
        }
        lesson.traffic = Some(urls.clone());
        lesson
    }
}

/// `text` with its markers replaced.
fn substitute(text: &str, nodes: &[String], urls: &TrafficUrls) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for found in find(text) {
        let url = match found.marker {
            Ok(TrafficMarker::Selector) => urls.selector.clone(),
            Ok(m @ TrafficMarker::Host { port, .. }) => match m.node(nodes) {
                Some(node) => urls.port_url(node, &port.to_string()),
                None => continue,
            },
            Err(_) => continue,
        };
        let after = found.offset + found.len;
        out.push_str(&text[last..found.offset]);
        // `{{TRAFFIC_HOST1_80}}/api` names a path below the port's root, whose URL
        // already ends in `/`: one slash, not two.
        let url = match text[after..].starts_with('/') {
            true => url.strip_suffix('/').unwrap_or(&url),
            false => &url,
        };
        out.push_str(url);
        last = after;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Environment, NodeImage, NodeSpec};

    #[test]
    fn the_grammar() {
        let host = |h, p| Some(Ok(TrafficMarker::Host { host: h, port: p }));
        assert_eq!(parse("TRAFFIC_HOST1_80"), host(1, 80));
        assert_eq!(parse("TRAFFIC_HOST2_65535"), host(2, 65535));
        assert_eq!(parse("TRAFFIC_SELECTOR"), Some(Ok(TrafficMarker::Selector)));
        for bad in [
            "TRAFFIC_HOST0_80",
            "TRAFFIC_HOST1_0",
            "TRAFFIC_HOST1_70000",
            "TRAFFIC_HOST1",
            "TRAFFIC_HOSTx_80",
            "TRAFFIC_HOST1_+80",
            "TRAFFIC_HOST",
        ] {
            assert!(matches!(parse(bad), Some(Err(_))), "{bad}");
        }
        assert_eq!(parse("exec"), None);
        assert_eq!(parse("traffic_host1_80"), None);
    }

    #[test]
    fn finds_markers_among_others() {
        let text = "a {{exec}} b {{TRAFFIC_HOST1_80}} {{TRAFFIC_HOST0_1}}{{TRAFFIC_SELECTOR}}";
        let found = find(text);
        assert_eq!(found.len(), 3);
        assert_eq!(
            &text[found[0].offset..][..found[0].len],
            "{{TRAFFIC_HOST1_80}}"
        );
        assert!(found[1].marker.is_err());
        assert_eq!(found[2].marker, Ok(TrafficMarker::Selector));
    }

    #[test]
    fn scripts_get_the_sessions_urls() {
        let node = |n: &str| NodeSpec::new(n, NodeImage::Reference("x".into()));
        let mut lesson =
            Lesson::with_environment("l", "/l", Environment::new(vec![node("a"), node("b")]));
        lesson.setup.push(Script {
            node: "a".into(),
            run: "echo {{TRAFFIC_HOST2_8080}} {{TRAFFIC_HOST1_80}}/api {{TRAFFIC_HOST3_80}} \
                  {{TRAFFIC_SELECTOR}} {{exec}}"
                .into(),
            foreground: true,
        });
        let urls = TrafficUrls {
            template: "http://h/ports/s/{node}/{port}/".into(),
            selector: "http://h/ports/s/".into(),
        };
        let run = &lesson.with_traffic(&urls).setup[0].run;
        assert_eq!(
            run,
            "echo http://h/ports/s/b/8080/ http://h/ports/s/a/80/api {{TRAFFIC_HOST3_80}} \
             http://h/ports/s/ {{exec}}"
        );
    }
}
