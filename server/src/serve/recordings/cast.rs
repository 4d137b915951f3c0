//! The asciicast v2 format, as far as playlab writes it: a header line of JSON, then
//! one JSON array per event, `[time, code, data]`.
//!
//! Codes: `"o"` output, `"i"` input (the learner's keystrokes), `"r"` resize
//! (`"COLSxROWS"`), `"m"` marker (a check verdict, a gap, the end of a capped
//! recording). Times are seconds since the recording began, written with microsecond
//! precision from a [`Duration`], so no float noise such as `0.30000000000000004`
//! ends up in the file.
//!
//! The format carries text, terminals carry bytes: output is decoded as UTF-8, lossily
//! (an invalid byte becomes U+FFFD), with [`Utf8Carry`] holding the start of a
//! character that a chunk boundary cut in two until the next chunk completes it.
//! That is what asciinema itself does; a byte-exact copy would need another format.
//!
//! No crate is used for this: the one on crates.io (`asciicast` 0.2) knows only `"o"`
//! and `"i"` events and brings chrono along; the format is a header struct and a
//! `format!` per line.

use std::borrow::Cow;
use std::time::Duration;

use runner::TermSize;
use serde::{Deserialize, Serialize};

/// The first line of a `.cast` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub version: u8,
    pub width: u16,
    pub height: u16,
    /// Unix time the recording began, in seconds.
    pub timestamp: u64,
    pub title: String,
    pub env: HeaderEnv,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderEnv {
    #[serde(rename = "TERM")]
    pub term: String,
}

impl Header {
    pub fn new(size: TermSize, timestamp: u64, title: String) -> Header {
        Header {
            version: 2,
            width: size.cols,
            height: size.rows,
            timestamp,
            title,
            env: HeaderEnv {
                // What the browser's xterm.js emulates and the nodes' shells are told.
                term: "xterm-256color".into(),
            },
        }
    }

    /// The header as its line, newline included.
    pub fn line(&self) -> String {
        // A struct of strings and numbers always serializes.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// The kind of an event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Output,
    Input,
    Resize,
    Marker,
}

impl Code {
    fn as_str(self) -> &'static str {
        match self {
            Code::Output => "o",
            Code::Input => "i",
            Code::Resize => "r",
            Code::Marker => "m",
        }
    }
}

/// Appends one event's line, newline included, to `out`: straight into the writer's
/// buffer, so a chunk of output is copied once on its way to the file.
pub fn write_event(out: &mut Vec<u8>, time: Duration, code: Code, data: &str) {
    use std::io::Write as _;
    // Writing into a Vec cannot fail, and a `&str` always serializes; serde_json
    // escapes quotes, backslashes and control characters, which is all JSON needs.
    let secs = (time.as_secs(), time.subsec_micros());
    let _ = write!(out, "[{}.{:06}, \"{}\", ", secs.0, secs.1, code.as_str());
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"]\n");
}

/// A resize event's data.
pub fn resize_data(size: TermSize) -> String {
    format!("{}x{}", size.cols, size.rows)
}

/// Decodes a byte stream as UTF-8 chunk by chunk, lossily, without breaking a
/// character that straddles two chunks (see the module documentation).
#[derive(Debug, Default)]
pub struct Utf8Carry {
    /// The incomplete start of a character at the end of the last chunk (at most 3
    /// bytes).
    pending: Vec<u8>,
}

impl Utf8Carry {
    /// The text of `chunk`, after what the last chunk left incomplete; borrowed when
    /// the chunk is valid UTF-8 on its own (most output), so nothing is copied.
    pub fn decode<'a>(&mut self, chunk: &'a [u8]) -> Cow<'a, str> {
        if self.pending.is_empty()
            && let Ok(text) = std::str::from_utf8(chunk)
        {
            return Cow::Borrowed(text);
        }
        let joined;
        let mut input = if self.pending.is_empty() {
            chunk
        } else {
            let mut bytes = std::mem::take(&mut self.pending);
            bytes.extend_from_slice(chunk);
            joined = bytes;
            &joined[..]
        };
        let mut text = String::with_capacity(input.len());
        loop {
            match std::str::from_utf8(input) {
                Ok(valid) => {
                    text.push_str(valid);
                    return Cow::Owned(text);
                }
                Err(e) => {
                    let (valid, rest) = input.split_at(e.valid_up_to());
                    // `valid_up_to` marks a prefix that is valid UTF-8.
                    text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            input = &rest[bad..];
                        }
                        // The chunk ends inside a character: keep its start.
                        None => {
                            self.pending = rest.to_vec();
                            return Cow::Owned(text);
                        }
                    }
                }
            }
        }
    }

    /// What is left at the end of the stream: an incomplete character, as U+FFFD.
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        self.pending.clear();
        Some(char::REPLACEMENT_CHARACTER.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event as its line.
    fn event_line(time: Duration, code: Code, data: &str) -> String {
        let mut line = Vec::new();
        write_event(&mut line, time, code, data);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn header_is_asciicast_v2() {
        let header = Header::new(
            TermSize {
                cols: 120,
                rows: 40,
            },
            1_700_000_000,
            "node01".into(),
        );
        assert_eq!(
            header.line(),
            "{\"version\":2,\"width\":120,\"height\":40,\"timestamp\":1700000000,\
             \"title\":\"node01\",\"env\":{\"TERM\":\"xterm-256color\"}}\n"
        );
    }

    #[test]
    fn events_have_exact_times_and_escaped_data() {
        let line = event_line(
            Duration::from_millis(300),
            Code::Output,
            "a\"b\\c\r\n\x1b[0m\x07",
        );
        assert_eq!(
            line,
            "[0.300000, \"o\", \"a\\\"b\\\\c\\r\\n\\u001b[0m\\u0007\"]\n"
        );
        assert_eq!(
            event_line(Duration::new(61, 5_000), Code::Input, "ls\r"),
            "[61.000005, \"i\", \"ls\\r\"]\n"
        );
        assert_eq!(
            event_line(
                Duration::ZERO,
                Code::Resize,
                &resize_data(TermSize { cols: 80, rows: 24 })
            ),
            "[0.000000, \"r\", \"80x24\"]\n"
        );
        let marker = event_line(Duration::from_secs(2), Code::Marker, "check: pass");
        assert_eq!(marker, "[2.000000, \"m\", \"check: pass\"]\n");
        // Every line is the JSON asciinema reads.
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value[2], "a\"b\\c\r\n\x1b[0m\x07");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let mut carry = Utf8Carry::default();
        assert_eq!(carry.decode(b"ok \xff\xfe end"), "ok \u{FFFD}\u{FFFD} end");
        // A lone continuation byte, and a truncated sequence followed by ASCII.
        assert_eq!(carry.decode(b"\x80x\xe2\x82y"), "\u{FFFD}x\u{FFFD}y");
        assert_eq!(carry.finish(), None);
    }

    #[test]
    fn a_character_split_across_chunks_survives() {
        let euro = "€".as_bytes(); // e2 82 ac
        let mut carry = Utf8Carry::default();
        assert_eq!(carry.decode(&[b"price: ", &euro[..1]].concat()), "price: ");
        assert_eq!(carry.decode(&euro[1..2]), "");
        assert_eq!(carry.decode(&[&euro[2..], b"5"].concat()), "€5");
        // A four-byte character split 1 + 3.
        let crab = "🦀".as_bytes();
        assert_eq!(carry.decode(&crab[..1]), "");
        assert_eq!(carry.decode(&crab[1..]), "🦀");
        // The stream ends inside a character: it is not lost silently.
        assert_eq!(carry.decode(&euro[..2]), "");
        assert_eq!(carry.finish().as_deref(), Some("\u{FFFD}"));
        assert_eq!(carry.finish(), None);
    }

    #[test]
    fn a_broken_start_is_not_carried_forever() {
        // An invalid continuation after a carried start: the start is replaced, and
        // the next bytes decode normally.
        let mut carry = Utf8Carry::default();
        assert_eq!(carry.decode(b"\xe2"), "");
        assert_eq!(carry.decode(b"AB"), "\u{FFFD}AB");
    }
}
