//! Turns the keystrokes a learner sends to a terminal into command lines for the
//! session transcript (what checks can see of "what the learner typed").
//!
//! Best effort by design: it follows printable text, backspace, Ctrl-U/Ctrl-C and
//! Enter, and ignores escape sequences (arrow keys, history recall), so a line edited
//! with the cursor keys is recorded as typed, not as the shell saw it. Kept behind this
//! one type so the checks crate's assembler can replace it in one place.

/// Longest line kept; a paste of a whole file is not a command line.
const MAX_LINE: usize = 4096;

#[derive(Debug, Default)]
pub struct LineAssembler {
    line: Vec<u8>,
    escape: Escape,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// Inside `ESC [ ...` or `ESC O ...`, until a final byte.
    Sequence,
}

impl LineAssembler {
    /// Feeds keystrokes; returns the command lines they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in bytes {
            match self.escape {
                Escape::Start => {
                    self.escape = if b == b'[' || b == b'O' {
                        Escape::Sequence
                    } else {
                        Escape::None
                    };
                    continue;
                }
                Escape::Sequence => {
                    if (0x40..=0x7e).contains(&b) {
                        self.escape = Escape::None;
                    }
                    continue;
                }
                Escape::None => {}
            }
            match b {
                0x1b => self.escape = Escape::Start,
                b'\r' | b'\n' => {
                    let text = String::from_utf8_lossy(&self.line).trim().to_owned();
                    self.line.clear();
                    if !text.is_empty() {
                        lines.push(text);
                    }
                }
                0x7f | 0x08 => {
                    // Remove one whole UTF-8 character.
                    while let Some(last) = self.line.pop() {
                        if last & 0xc0 != 0x80 {
                            break;
                        }
                    }
                }
                0x03 | 0x15 => self.line.clear(),
                b'\t' => self.line.push(b' '),
                b if b < 0x20 => {}
                b => {
                    if self.line.len() < MAX_LINE {
                        self.line.push(b);
                    }
                }
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_lines_from_keystrokes() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"ls -l\r", &["ls -l"]),
            (b"echo hi\rpwd\n", &["echo hi", "pwd"]),
            (b"lss\x7f -a\r", &["ls -a"]),
            (b"rm -rf /\x15echo safe\r", &["echo safe"]),
            (b"sleep 100\x03\r", &[]),
            (b"\x1b[Akubectl get\x1b[D\x1bOA nodes\r", &["kubectl get nodes"]),
            ("echo é\x7fe\r".as_bytes(), &["echo e"]),
            (b"   \r", &[]),
        ];
        for (input, expected) in cases {
            let mut a = LineAssembler::default();
            assert_eq!(a.feed(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn lines_may_span_feeds() {
        let mut a = LineAssembler::default();
        assert!(a.feed(b"etcdctl snap").is_empty());
        assert!(a.feed(b"shot save x\x1b").is_empty());
        assert_eq!(a.feed(b"[C\r"), vec!["etcdctl snapshot save x"]);
    }
}
