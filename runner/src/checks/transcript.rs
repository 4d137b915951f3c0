//! What the learner typed: the command lines entered in each node's terminal.
//!
//! A check inside a node can see the state the learner produced, but not the order in
//! which commands ran ("`etcdctl snapshot save` before `kubeadm upgrade apply`"). The
//! server watches terminal *input* and records every completed line here, per session
//! and node; checks get the transcript as a file (shell checks) or in their JSON input
//! (WASM checks).
//!
//! Reconstructing lines from keystrokes is best effort by nature: the shell's own line
//! editing (history recall, tab completion) happens inside the node where we cannot
//! see it. [`LineAssembler`] handles what a plain terminal sends for ordinary typing,
//! pasting and correcting: printable text, Enter, backslash-newline continuation,
//! backspace, Ctrl-U/Ctrl-W/Ctrl-C and escape sequences (arrow keys, bracketed-paste
//! markers), which are dropped. A quote left open across Enter is not followed: each
//! physical line is then an entry of its own.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The most entries a transcript keeps; older ones are dropped first. Bounds memory
/// per session and the size of what is written into a node for every check.
pub const TRANSCRIPT_MAX_ENTRIES: usize = 2000;

/// The longest line kept, in bytes; longer input is cut. Real commands (a
/// `kubeadm join` with its token and hash, an `etcdctl` call with three certificate
/// flags) stay far below it; longer lines are pastes, not commands worth judging. It
/// bounds a full transcript to about 2 MiB, which a WASM check can scan well within
/// its fuel.
pub const LINE_MAX_BYTES: usize = 1024;

/// One command line the learner entered on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub node: String,
    /// When Enter was pressed, in milliseconds since the Unix epoch.
    pub at: u64,
    pub line: String,
}

impl TranscriptEntry {
    /// An entry stamped with the current time.
    pub fn now(node: impl Into<String>, line: impl Into<String>) -> Self {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        TranscriptEntry {
            node: node.into(),
            at,
            line: line.into(),
        }
    }
}

/// Every line entered in one session, oldest first, across all its nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Transcript {
    entries: VecDeque<TranscriptEntry>,
}

impl Transcript {
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &TranscriptEntry> {
        self.entries.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends an entry, dropping the oldest beyond [`TRANSCRIPT_MAX_ENTRIES`].
    pub fn push(&mut self, entry: TranscriptEntry) {
        if self.entries.len() == TRANSCRIPT_MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Records a line typed now on `node`.
    pub fn record(&mut self, node: &str, line: impl Into<String>) {
        self.push(TranscriptEntry::now(node, line));
    }

    /// The file shell checks read through `PLAYLAB_TRANSCRIPT`: one entry per line,
    /// `AT<TAB>NODE<TAB>LINE`, so `cut -f3`, `grep` and `awk -F'\t'` work on it.
    /// Tabs inside a line become spaces to keep the columns intact.
    pub fn to_tsv(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&format!(
                "{}\t{}\t{}\n",
                e.at,
                e.node,
                e.line.replace('\t', " ")
            ));
        }
        out
    }
}

/// Turns the raw bytes a terminal sends into the command lines they spell. Keep one
/// per terminal; feed it every input chunk in order.
#[derive(Debug, Default)]
pub struct LineAssembler {
    line: Vec<u8>,
    escape: Escape,
}

/// Where we are inside an escape sequence, which carries no typed text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// Inside `ESC [ ...` until a final byte in `0x40..=0x7e`.
    Csi,
    /// Inside `ESC O x` (SS3: function and keypad keys), one more byte.
    Ss3,
}

impl LineAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes input bytes; returns the lines completed by Enter in this chunk
    /// (empty and whitespace-only lines are left out).
    pub fn feed(&mut self, input: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in input {
            match self.escape {
                Escape::Start => {
                    self.escape = match b {
                        b'[' => Escape::Csi,
                        b'O' => Escape::Ss3,
                        _ => Escape::None,
                    };
                    continue;
                }
                Escape::Csi => {
                    if (0x40..=0x7e).contains(&b) {
                        self.escape = Escape::None;
                    }
                    continue;
                }
                Escape::Ss3 => {
                    self.escape = Escape::None;
                    continue;
                }
                Escape::None => {}
            }
            match b {
                b'\r' | b'\n' if self.continues() => {
                    // Like the shell: backslash-newline joins the next line to this one,
                    // so a `kubeadm join` typed over three lines is one command.
                    self.line.pop();
                }
                b'\r' | b'\n' => {
                    let line = String::from_utf8_lossy(&self.line).trim().to_owned();
                    self.line.clear();
                    if !line.is_empty() {
                        lines.push(line);
                    }
                }
                0x1b => self.escape = Escape::Start,
                // Backspace (DEL from most terminals, BS from some): remove one
                // character, which may be several UTF-8 bytes.
                0x7f | 0x08 => {
                    while let Some(last) = self.line.pop() {
                        if last & 0xc0 != 0x80 {
                            break;
                        }
                    }
                }
                // Ctrl-C abandons the line, Ctrl-U erases it: neither runs it.
                0x03 | 0x15 => self.line.clear(),
                // Ctrl-W erases the word before the cursor.
                0x17 => {
                    while self.line.last().is_some_and(|c| c.is_ascii_whitespace()) {
                        self.line.pop();
                    }
                    while self.line.last().is_some_and(|c| !c.is_ascii_whitespace()) {
                        self.line.pop();
                    }
                }
                b'\t' => self.push(b' '),
                // Other control bytes (Ctrl-D, Ctrl-L, ...) type nothing.
                0x00..=0x1f => {}
                _ => self.push(b),
            }
        }
        lines
    }

    /// Whether the line ends in a backslash that escapes the coming newline (an odd
    /// run of them: `\\` is a literal backslash).
    fn continues(&self) -> bool {
        let trailing = self.line.iter().rev().take_while(|&&c| c == b'\\').count();
        trailing % 2 == 1
    }

    fn push(&mut self, b: u8) {
        if self.line.len() < LINE_MAX_BYTES {
            self.line.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<String> {
        let mut asm = LineAssembler::new();
        chunks.iter().flat_map(|c| asm.feed(c)).collect()
    }

    #[test]
    fn assembles_lines_from_keystrokes() {
        let cases: &[(&[&[u8]], &[&str])] = &[
            (&[b"ls -l\r"], &["ls -l"]),
            // One keystroke per chunk, as a terminal sends them.
            (&[b"e", b"c", b"h", b"o", b" hi", b"\r"], &["echo hi"]),
            (&[b"lss\x7f -a\r"], &["ls -a"]),
            (&[b"ab\x08c\r"], &["ac"]),
            // Backspace removes a whole multi-byte character.
            (&["caf\u{e9}\x7fe\r".as_bytes()], &["cafe"]),
            (&[b"rm -rf /\x03echo safe\r"], &["echo safe"]),
            (&[b"oops\x15kubectl get nodes\r"], &["kubectl get nodes"]),
            (&[b"kubectl get pods\x17nodes\r"], &["kubectl get nodes"]),
            // Arrow keys and bracketed paste markers carry no text.
            (&[b"ls\x1b[D\x1b[C\x1bOA\r"], &["ls"]),
            (
                &[b"\x1b[200~echo a\recho b\x1b[201~\r"],
                &["echo a", "echo b"],
            ),
            (&[b"\r\r   \r\n"], &[]),
            (&[b"one\r\ntwo\n"], &["one", "two"]),
            // Backslash-newline continues the command, as in the shell...
            (
                &[
                    b"kubeadm join 10.0.0.2:6443 \\\r",
                    b"  --token abc \\\r",
                    b"  --discovery-token-ca-cert-hash sha256:00\r",
                ],
                &[
                    "kubeadm join 10.0.0.2:6443   --token abc   --discovery-token-ca-cert-hash sha256:00",
                ],
            ),
            // ...but an escaped backslash is just a backslash, and Ctrl-C drops it all.
            (&[b"echo a\\\\\rls\r"], &["echo a\\\\", "ls"]),
            (&[b"rm -rf \\\r\x03echo ok\r"], &["echo ok"]),
        ];
        for (chunks, want) in cases {
            assert_eq!(lines(chunks), *want, "input {chunks:?}");
        }
    }

    #[test]
    fn long_lines_are_cut() {
        let mut input = vec![b'x'; LINE_MAX_BYTES * 2];
        input.push(b'\r');
        let got = lines(&[&input]);
        assert_eq!(got[0].len(), LINE_MAX_BYTES);
    }

    #[test]
    fn transcript_is_bounded_and_keeps_the_newest() {
        let mut t = Transcript::new();
        for i in 0..TRANSCRIPT_MAX_ENTRIES + 5 {
            t.record("n", format!("cmd {i}"));
        }
        assert_eq!(t.entries().len(), TRANSCRIPT_MAX_ENTRIES);
        assert_eq!(t.entries().next().unwrap().line, "cmd 5");
    }

    #[test]
    fn tsv_keeps_columns() {
        let mut t = Transcript::new();
        t.push(TranscriptEntry {
            node: "controlplane".into(),
            at: 7,
            line: "printf 'a\tb'".into(),
        });
        assert_eq!(t.to_tsv(), "7\tcontrolplane\tprintf 'a b'\n");
    }
}
