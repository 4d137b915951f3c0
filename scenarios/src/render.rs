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
//! Lint uses the same walk ([`actions`]) to check node names and action syntax, so
//! what lint accepts is exactly what renders.

use pulldown_cmark::{
    CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, utils::TextMergeWithOffset,
};
use pulldown_cmark_escape::escape_html;

use crate::model::{Lesson, Page};

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
    let (events, _) = walk(markdown, nodes);
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
    walk(markdown, nodes).1
}

/// The one pass behind [`render`] and [`actions`].
fn walk(markdown: &str, nodes: &[String]) -> (Vec<Event<'static>>, Vec<Marker>) {
    let source = normalize_killercoda_fences(markdown);
    let parser = Parser::new_ext(
        &source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS,
    );
    let mut input = TextMergeWithOffset::new(parser.into_offset_iter()).peekable();
    let mut out = Vec::new();
    let mut markers = Vec::new();
    // Whether the open code block was replaced by our own markup.
    let mut in_own_block = false;
    // The open code block's highlighted lines (`yaml{2,5-6}`), when it has some.
    let mut highlight: Option<LineSet> = None;
    while let Some((event, range)) = input.next() {
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
                    out.push(Event::Text(rest.into()));
                }
            }
            // Lessons are authored, but a lesson folder may come from anywhere:
            // show raw HTML as text instead of letting it into the page.
            Event::Html(html) => out.push(Event::Text(html.into_static())),
            Event::InlineHtml(html) => out.push(Event::Text(html.into_static())),
            other => out.push(other.into_static()),
        }
    }
    (out, markers)
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
/// such as a `{{TRAFFIC_HOST1_80}}` placeholder), else the action or why it is wrong.
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
