//! Lesson Markdown → HTML, with click-to-run and click-to-copy code.
//!
//! Two notations mark runnable code, and both end up as the same markup, which the web
//! UI wires to the terminals:
//! - native fenced blocks whose info string carries `{exec}`, `{exec node=node01}`,
//!   `{exec interrupt}` or `{copy}`: ```` ```bash {exec node=node01} ````;
//! - Killercoda markers after a closing fence or an inline code span: `{{exec}}`,
//!   `{{copy}}`, `{{exec interrupt}}`, legacy `{{execute}}`/`{{execute HOST2}}`
//!   (host N is the N-th node), and `{{}}` (plain code).
//!
//! Blocks become `<pre class="playlab-code" data-action="exec|copy" data-node="NODE"
//! data-interrupt="true"><code>…</code></pre>`, inline spans `<code data-action=…>`;
//! `data-node` is left out when no node is named (the UI uses the focused terminal).
//! Raw HTML in lesson Markdown is escaped, never passed through.
//!
//! Killercoda's traffic markers ([`crate::traffic`]) outside code become links the web
//! UI completes with the session's URLs (the page is the same for every session):
//! `[text]({{TRAFFIC_HOST1_80}})` and a bare `{{TRAFFIC_HOST1_80}}` both become
//! `<a class="traffic-link" data-traffic-host="1" data-traffic-port="80" href="#"
//! target="_blank" rel="noopener">`, the bare one with `data-traffic-bare` and the text
//! `host1:80`; `{{TRAFFIC_SELECTOR}}` has `data-traffic-selector` instead of host and
//! port. Inside code they stay as written: there they are part of a command. A marker
//! that is malformed or names a node the lesson lacks stays text (lint warns).
//!
//! Lint uses the same walk ([`actions`]) to check node names and action syntax, so
//! what lint accepts is exactly what renders.

use pulldown_cmark::{
    CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, utils::TextMergeWithOffset,
};
use pulldown_cmark_escape::escape_html;

use crate::model::{Lesson, Page};
use crate::traffic::{self, Found, TrafficMarker};

/// What clicking a piece of code does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub kind: ActionKind,
    /// The node to run on; `None` means the terminal the learner has in focus.
    pub node: Option<String>,
    /// Send Ctrl-C before running (to stop a `watch` or `tail -f`).
    pub interrupt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Exec,
    Copy,
}

impl ActionKind {
    fn as_str(self) -> &'static str {
        match self {
            ActionKind::Exec => "exec",
            ActionKind::Copy => "copy",
        }
    }
}

/// One action marker found in a page, with its byte offset in the Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub offset: usize,
    /// The parsed action, or why the marker could not be understood.
    pub action: Result<Action, String>,
}

/// Renders lesson Markdown to HTML. `nodes` are the environment's node names, in order
/// (Killercoda's `HOST2` is `nodes[1]`).
pub fn render(markdown: &str, nodes: &[String]) -> String {
    let events = walk(markdown, nodes).events;
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// Renders one page of `lesson` (its intro, a step's text or its finish).
pub fn render_page(lesson: &Lesson, page: &Page) -> String {
    let nodes = lesson.environment.node_names();
    render(&page.markdown, &nodes)
}

/// Every action marker in `markdown`, for lint.
pub fn actions(markdown: &str, nodes: &[String]) -> Vec<Marker> {
    walk(markdown, nodes).actions
}

/// Every traffic marker outside code in `markdown`, well-formed or not, for lint
/// (offsets are the page's).
pub fn traffic_markers(markdown: &str, nodes: &[String]) -> Vec<Found> {
    walk(markdown, nodes).traffic
}

/// What one pass over a page gives.
struct Walked {
    events: Vec<Event<'static>>,
    actions: Vec<Marker>,
    traffic: Vec<Found>,
}

/// What the open link became (links do not nest).
enum OpenLink {
    Plain,
    /// A traffic marker's link: closed with our own `</a>`.
    Traffic,
    /// A link to a marker that cannot be read: only its text is shown.
    Dropped,
}

/// The one pass behind [`render`], [`actions`] and [`traffic_markers`].
fn walk(markdown: &str, nodes: &[String]) -> Walked {
    let source = normalize_killercoda_fences(markdown);
    let parser = Parser::new_ext(
        &source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS,
    );
    let mut input = TextMergeWithOffset::new(parser.into_offset_iter()).peekable();
    let mut out = Vec::new();
    let mut markers = Vec::new();
    let mut traffic = Vec::new();
    // Whether a code block is open, ours or not: traffic markers there are commands.
    let mut in_code = false;
    let mut link: Option<OpenLink> = None;
    // Whether the open code block was replaced by our own markup.
    let mut in_own_block = false;
    // The open code block's highlighted lines (`yaml{2,5-6}`), when it has some.
    let mut highlight: Option<LineSet> = None;
    while let Some((event, range)) = input.next() {
        match &event {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            _ => {}
        }
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let (info, lines) = split_highlight(&info);
                let (lang, action) = parse_info(&info, nodes);
                highlight = lines;
                match action {
                    Some(action) => {
                        markers.push(Marker {
                            offset: range.start,
                            action: action.clone(),
                        });
                        if let Ok(action) = action {
                            out.push(Event::Html(block_open(Some(&action), lang).into()));
                            in_own_block = true;
                            continue;
                        }
                        out.push(Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(
                            CowStr::from(lang.to_owned()),
                        ))));
                    }
                    None if highlight.is_some() => {
                        out.push(Event::Html(block_open(None, lang).into()));
                        in_own_block = true;
                    }
                    None => out.push(Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(
                        CowStr::from(info.into_owned()),
                    )))),
                }
            }
            Event::Text(text) if highlight.is_some() && in_own_block => {
                let lines = highlight.as_ref().expect("checked");
                out.push(Event::Html(highlighted(&text, lines).into()));
            }
            Event::End(TagEnd::CodeBlock) if in_own_block => {
                in_own_block = false;
                highlight = None;
                out.push(Event::Html("</code></pre>\n".into()));
            }
            Event::End(TagEnd::CodeBlock) => {
                highlight = None;
                out.push(Event::End(TagEnd::CodeBlock));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let found = traffic::find(&dest_url)
                    .into_iter()
                    .find(|f| f.offset == 0 && f.len == dest_url.len());
                let Some(mut found) = found else {
                    link = Some(OpenLink::Plain);
                    out.push(
                        Event::Start(Tag::Link {
                            link_type,
                            dest_url,
                            title,
                            id,
                        })
                        .into_static(),
                    );
                    continue;
                };
                found.offset = range.start;
                match usable(&found, nodes) {
                    Some(marker) => {
                        out.push(Event::InlineHtml(traffic_open(marker, false).into()));
                        link = Some(OpenLink::Traffic);
                    }
                    None => link = Some(OpenLink::Dropped),
                }
                traffic.push(found);
            }
            Event::End(TagEnd::Link) => match link.take() {
                Some(OpenLink::Traffic) => out.push(Event::InlineHtml("</a>".into())),
                Some(OpenLink::Dropped) => {}
                Some(OpenLink::Plain) | None => out.push(Event::End(TagEnd::Link)),
            },
            Event::Text(text) if !in_code && link.is_none() => {
                push_text(&text, range.start, nodes, &mut out, &mut traffic)
            }
            Event::Code(code) => {
                let marker = match input.peek() {
                    Some((Event::Text(next), _)) => {
                        split_marker(next).map(|(m, rest)| (m.to_owned(), rest.to_owned()))
                    }
                    _ => None,
                };
                let Some((marker, rest)) = marker else {
                    out.push(Event::Code(code.into_static()));
                    continue;
                };
                input.next();
                match killercoda_marker(&marker, nodes) {
                    None => out.push(Event::Code(code.into_static())),
                    Some(action) => {
                        markers.push(Marker {
                            offset: range.start,
                            action: action.clone(),
                        });
                        match action {
                            Ok(action) => {
                                out.push(Event::InlineHtml(inline_code(&action, &code).into()))
                            }
                            Err(_) => out.push(Event::Code(code.into_static())),
                        }
                    }
                }
                if !rest.is_empty() {
                    // After the code span and its `{{marker}}`, as the source has it.
                    let at = range.end + marker.len() + 4;
                    match link {
                        None => push_text(&rest, at, nodes, &mut out, &mut traffic),
                        Some(_) => out.push(Event::Text(rest.into())),
                    }
                }
            }
            // Lessons are authored, but a lesson folder may come from anywhere:
            // show raw HTML as text instead of letting it into the page.
            Event::Html(html) => out.push(Event::Text(html.into_static())),
            Event::InlineHtml(html) => out.push(Event::Text(html.into_static())),
            other => out.push(other.into_static()),
        }
    }
    Walked {
        events: out,
        actions: markers,
        traffic,
    }
}

/// Text outside code and links, its traffic markers made links; `offset` is where it
/// starts in the page.
fn push_text(
    text: &str,
    offset: usize,
    nodes: &[String],
    out: &mut Vec<Event<'static>>,
    traffic: &mut Vec<Found>,
) {
    let mut last = 0;
    for mut found in traffic::find(text) {
        if let Some(marker) = usable(&found, nodes) {
            if last < found.offset {
                out.push(Event::Text(text[last..found.offset].to_owned().into()));
            }
            let mut html = traffic_open(marker, true);
            escape_html(&mut html, &bare_text(marker)).expect("writing to a String cannot fail");
            html.push_str("</a>");
            out.push(Event::InlineHtml(html.into()));
            last = found.offset + found.len;
        }
        found.offset += offset;
        traffic.push(found);
    }
    if last < text.len() {
        out.push(Event::Text(text[last..].to_owned().into()));
    }
}

/// The marker `found` is, when it renders as a link: well-formed, and a host marker
/// names a node of the lesson.
fn usable(found: &Found, nodes: &[String]) -> Option<TrafficMarker> {
    let marker = *found.marker.as_ref().ok()?;
    match marker {
        TrafficMarker::Host { .. } => marker.node(nodes).map(|_| marker),
        TrafficMarker::Selector => Some(marker),
    }
}

/// A traffic link's opening tag: the HTML contract the web UI completes.
fn traffic_open(marker: TrafficMarker, bare: bool) -> String {
    let mut s = String::from("<a class=\"traffic-link\"");
    match marker {
        TrafficMarker::Host { host, port } => s.push_str(&format!(
            " data-traffic-host=\"{host}\" data-traffic-port=\"{port}\""
        )),
        TrafficMarker::Selector => s.push_str(" data-traffic-selector"),
    }
    if bare {
        s.push_str(" data-traffic-bare");
    }
    s.push_str(" href=\"#\" target=\"_blank\" rel=\"noopener\">");
    s
}

/// A bare marker's text until the web UI puts the URL there.
fn bare_text(marker: TrafficMarker) -> String {
    match marker {
        TrafficMarker::Host { host, port } => format!("host{host}:{port}"),
        TrafficMarker::Selector => "ports".to_owned(),
    }
}

fn attrs(action: &Action) -> String {
    let mut s = format!(" data-action=\"{}\"", action.kind.as_str());
    if let Some(node) = &action.node {
        s.push_str(" data-node=\"");
        escape_html(&mut s, node).expect("writing to a String cannot fail");
        s.push('"');
    }
    if action.interrupt {
        s.push_str(" data-interrupt=\"true\"");
    }
    s
}

fn block_open(action: Option<&Action>, lang: &str) -> String {
    let mut s = format!(
        "<pre class=\"playlab-code\"{}><code",
        action.map(attrs).unwrap_or_default()
    );
    if !lang.is_empty() {
        s.push_str(" class=\"language-");
        escape_html(&mut s, lang).expect("writing to a String cannot fail");
        s.push('"');
    }
    s.push('>');
    s
}

fn inline_code(action: &Action, code: &str) -> String {
    let mut s = format!("<code{}>", attrs(action));
    escape_html(&mut s, code).expect("writing to a String cannot fail");
    s.push_str("</code>");
    s
}

/// Splits `{{marker}}rest` into the marker's inside and the rest.
fn split_marker(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix("{{")?;
    let end = inner.find("}}")?;
    let marker = &inner[..end];
    (!marker.contains(['{', '\n'])).then(|| (marker, &inner[end + 2..]))
}

/// A Killercoda marker's meaning: `None` for plain code (`{{}}` or an unknown word,
/// such as a traffic marker after a code span), else the action or why it is wrong.
fn killercoda_marker(marker: &str, nodes: &[String]) -> Option<Result<Action, String>> {
    let mut words = marker.split_whitespace();
    let kind = match words.next()? {
        "exec" | "execute" => ActionKind::Exec,
        "copy" => ActionKind::Copy,
        _ => return None,
    };
    let mut action = Action {
        kind,
        node: None,
        interrupt: false,
    };
    for word in words {
        match word {
            "interrupt" => action.interrupt = true,
            host => match host_index(host) {
                Some(i) => {
                    action.node = Some(nodes.get(i).cloned().unwrap_or_else(|| host.to_owned()))
                }
                None => return Some(Err(format!("unknown word `{host}` in `{{{{{marker}}}}}`"))),
            },
        }
    }
    Some(Ok(action))
}

/// Katacoda's terminal names: `HOST2`/`host2` and `T2` are the second node.
fn host_index(word: &str) -> Option<usize> {
    let lower = word.to_ascii_lowercase();
    let digits = lower
        .strip_prefix("host")
        .or_else(|| lower.strip_prefix('t'))?;
    digits.parse::<usize>().ok()?.checked_sub(1)
}

/// Line numbers (from 1) to highlight in a code block, as ranges.
type LineSet = Vec<(usize, usize)>;

/// Takes a Killercoda line highlight (`yaml{2,5,6}`, `yaml{6-9}`) out of a fence info
/// string: the rest of the info string, and the lines. Braces that hold anything else
/// are left for [`parse_info`] (an action, or a mistake it reports).
fn split_highlight(info: &str) -> (std::borrow::Cow<'_, str>, Option<LineSet>) {
    let Some(open) = info.find('{').filter(|&i| !info[i..].starts_with("{{")) else {
        return (info.into(), None);
    };
    let Some(len) = info[open..].find('}') else {
        return (info.into(), None);
    };
    let Some(lines) = parse_lines(&info[open + 1..open + len]) else {
        return (info.into(), None);
    };
    let rest = format!("{}{}", &info[..open], &info[open + len + 1..]);
    (rest.into(), Some(lines))
}

/// `2,5,6` or `6-9` or `1,3-4`: every part a line number or a range of them.
fn parse_lines(spec: &str) -> Option<LineSet> {
    spec.split(',')
        .map(|part| {
            let part = part.trim();
            let (from, to) = part.split_once('-').unwrap_or((part, part));
            let (from, to) = (from.trim().parse().ok()?, to.trim().parse().ok()?);
            (from >= 1 && from <= to).then_some((from, to))
        })
        .collect()
}

/// A code block's text with its highlighted lines marked (`<span class="hl">`), the
/// rest escaped as usual.
fn highlighted(text: &str, lines: &LineSet) -> String {
    let mut html = String::with_capacity(text.len() + 64);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let marked = lines
            .iter()
            .any(|&(from, to)| (from..=to).contains(&(i + 1)));
        // The newline stays outside the mark, so a marked line is one line tall.
        let (line, newline) = match line.strip_suffix('\n') {
            Some(line) => (line, "\n"),
            None => (line, ""),
        };
        if marked {
            html.push_str("<span class=\"hl\">");
        }
        escape_html(&mut html, line).expect("writing to a String cannot fail");
        if marked {
            html.push_str("</span>");
        }
        html.push_str(newline);
    }
    html
}

/// Splits a fence info string such as `bash {exec node=node01}` into the language and
/// the action (`None` when there are no braces).
fn parse_info<'a>(info: &'a str, nodes: &[String]) -> (&'a str, Option<Result<Action, String>>) {
    let Some(open) = info.find('{') else {
        return (info.trim(), None);
    };
    let lang = info[..open].trim();
    let rest = info[open..].trim_end();
    // Killercoda markers moved here by `normalize_killercoda_fences` keep their meaning.
    if let Some(marker) = rest.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
        return (lang, killercoda_marker(marker, nodes));
    }
    let Some(inside) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return (
            lang,
            Some(Err(format!(
                "cannot read `{rest}` in the code block's info string; write `{{exec}}` or `{{copy}}` at its end"
            ))),
        );
    };
    let mut words = inside.split_whitespace();
    let kind = match words.next() {
        Some("exec") => ActionKind::Exec,
        Some("copy") => ActionKind::Copy,
        other => {
            return (
                lang,
                Some(Err(format!(
                    "unknown code block action `{}`; use `{{exec}}` or `{{copy}}`",
                    other.unwrap_or("")
                ))),
            );
        }
    };
    let mut action = Action {
        kind,
        node: None,
        interrupt: false,
    };
    for word in words {
        match word.split_once('=') {
            Some(("node", node)) => action.node = Some(node.trim_matches('"').to_owned()),
            None if word == "interrupt" => action.interrupt = true,
            _ => {
                return (
                    lang,
                    Some(Err(format!(
                        "unknown option `{word}` in `{{{inside}}}`; use `node=NAME` or `interrupt`"
                    ))),
                );
            }
        }
    }
    (lang, Some(Ok(action)))
}

/// Killercoda puts a fenced block's marker after the closing fence (```` ```{{exec}} ````),
/// which CommonMark does not accept as a closing fence. Move the marker onto the
/// opening fence's info string (as `{{exec}}`), keeping every line where it was so
/// that offsets still point to the right line.
fn normalize_killercoda_fences(markdown: &str) -> String {
    let mut lines: Vec<String> = markdown.split('\n').map(str::to_owned).collect();
    // (line index, fence character, fence length) of the open fence.
    let mut open: Option<(usize, char, usize)> = None;
    for i in 0..lines.len() {
        let line = &lines[i];
        let trimmed = line.trim_start_matches(' ');
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let Some(ch) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let run = trimmed.chars().take_while(|c| *c == ch).count();
        if run < 3 {
            continue;
        }
        let after = &trimmed[run..];
        match open {
            None => {
                if !(ch == '`' && after.contains('`')) {
                    open = Some((i, ch, run));
                }
            }
            Some((start, open_ch, open_run)) if ch == open_ch && run >= open_run => {
                let after = after.trim_end();
                if after.is_empty() {
                    open = None;
                } else if let Some((marker, "")) = split_marker(after) {
                    let marker = marker.to_owned();
                    let fence: String = std::iter::repeat_n(ch, run).collect();
                    lines[i] = fence;
                    let opening = lines[start].trim_end().to_owned();
                    lines[start] = format!("{opening} {{{{{marker}}}}}");
                    open = None;
                }
            }
            Some(_) => {}
        }
    }
    lines.join("\n")
}
