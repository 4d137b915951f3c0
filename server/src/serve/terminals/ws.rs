//! The terminal WebSocket protocol: one socket per viewer of one node's shell.
//!
//! Binary frames are raw terminal bytes both ways; text frames are JSON control:
//! client → `{"type":"resize","cols","rows"}`, `{"type":"pause"}`, `{"type":"resume"}`;
//! server → `{"type":"exit","code"}`, `{"type":"error","message"}`. A watcher is
//! read-only: its input and resizes are refused with an error message, except that
//! its input reaches the shell while the learner grants help (asked per frame, so a
//! revocation stops the next keystroke); a watcher never resizes. A frame over
//! [`MAX_CLIENT_FRAME`] closes the socket with 1009, a broken frame with 1002; the
//! shell's exit closes it with 1000, the server stopping with 1001, a lost terminal
//! with 1011.
//!
//! Shaped like tokio's mini-redis: each client frame is first [`parse`]d into a typed
//! [`Command`] (or a [`Rejection`]) without touching anything, then applied to the
//! shell; the writer turns what happens into [`ServerFrame`]s. A reader task and a
//! writer loop run side by side, because the reader may wait on the shell's input (a
//! full TTY buffer) while output must keep flowing.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use runner::TermSize;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::hub::{InputHook, Out, TerminalHub, TypingRights, Viewer};

/// Largest frame a client may send; bigger ones close the socket with 1009.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;
/// Largest number of columns or rows a terminal may be given.
pub const MAX_TERM_DIMENSION: u16 = 1000;
/// How long a closing server waits for the client's answer to its Close frame.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// The close codes this protocol uses (RFC 6455, section 7.4.1).
mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
}

/// A text frame from the client, as JSON.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientControl {
    Resize { cols: u16, rows: u16 },
    Pause,
    Resume,
}

/// A text frame to the client, as JSON.
#[derive(Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ServerControl {
    Exit { code: Option<i64> },
    Error { message: String },
}

/// What a client frame asks for, once parsed and allowed for the viewer's role.
#[derive(Debug, PartialEq)]
enum Command {
    /// Keystrokes for the shell.
    Input(Bytes),
    Resize(TermSize),
    /// Stop sending output (the browser's terminal is busy); the shell then waits.
    Pause,
    Resume,
    /// The client's Close frame: the socket ends.
    Close,
    /// Nothing to do (pings are answered by the WebSocket layer).
    Nothing,
}

/// A client frame the server refuses; the writer answers it.
#[derive(Debug, PartialEq)]
enum Rejection {
    /// An error message; the socket stays open.
    Error(String),
    /// The socket ends with this close code.
    Close(u16, &'static str),
}

/// A frame the server sends.
#[derive(Debug, PartialEq)]
enum ServerFrame {
    /// Terminal output.
    Output(Bytes),
    Control(ServerControl),
    Close(u16, &'static str),
}

impl From<ServerFrame> for Message {
    fn from(frame: ServerFrame) -> Message {
        match frame {
            ServerFrame::Output(bytes) => Message::Binary(bytes),
            ServerFrame::Control(control) => {
                let json = serde_json::to_string(&control).unwrap_or_default();
                Message::Text(Utf8Bytes::from(json))
            }
            ServerFrame::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            })),
        }
    }
}

/// What a viewer may do when a frame arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rights {
    input: bool,
    resize: bool,
}

impl Rights {
    fn now(typing: &TypingRights) -> Rights {
        Rights {
            input: typing.may_type(),
            resize: typing.may_resize(),
        }
    }
}

/// Reads one client frame as a viewer with `rights` sees it. Pure: nothing is applied.
fn parse(frame: Result<Message, axum::Error>, rights: Rights) -> Result<Command, Rejection> {
    let too_big = Rejection::Close(close_code::TOO_BIG, "frame too large");
    match frame {
        Err(_) => Err(Rejection::Close(
            close_code::PROTOCOL_ERROR,
            "protocol error",
        )),
        Ok(Message::Binary(bytes)) if bytes.len() > MAX_CLIENT_FRAME => Err(too_big),
        Ok(Message::Text(text)) if text.len() > MAX_CLIENT_FRAME => Err(too_big),
        Ok(Message::Binary(bytes)) if rights.input => Ok(Command::Input(bytes)),
        Ok(Message::Binary(_)) => Err(Rejection::Error("this terminal is read-only".into())),
        Ok(Message::Text(text)) => parse_control(text.as_str(), rights),
        Ok(Message::Close(_)) => Ok(Command::Close),
        Ok(Message::Ping(_) | Message::Pong(_)) => Ok(Command::Nothing),
    }
}

/// Reads a JSON control message; a watcher may pause and resume its own stream, but
/// not reshape the learner's terminal.
fn parse_control(text: &str, rights: Rights) -> Result<Command, Rejection> {
    let control = serde_json::from_str::<ClientControl>(text)
        .map_err(|e| Rejection::Error(format!("bad control message: {e}")))?;
    match control {
        ClientControl::Pause => Ok(Command::Pause),
        ClientControl::Resume => Ok(Command::Resume),
        ClientControl::Resize { .. } if !rights.resize => {
            Err(Rejection::Error("a read-only viewer cannot resize".into()))
        }
        ClientControl::Resize { cols, rows } => {
            let valid = (1..=MAX_TERM_DIMENSION).contains(&cols)
                && (1..=MAX_TERM_DIMENSION).contains(&rows);
            if valid {
                Ok(Command::Resize(TermSize { cols, rows }))
            } else {
                Err(Rejection::Error(format!(
                    "resize to {cols}x{rows}: columns and rows must be 1 to {MAX_TERM_DIMENSION}"
                )))
            }
        }
    }
}

/// What commands act on: the shell, the owner's input hook and the writer's pause.
struct Shell {
    hub: Arc<TerminalHub>,
    on_input: InputHook,
    paused: watch::Sender<bool>,
}

impl Command {
    /// Applies the command; an error is for the client to hear about.
    async fn apply(self, shell: &mut Shell) -> Result<(), Rejection> {
        match self {
            Command::Input(bytes) => {
                (shell.on_input)(&bytes);
                shell
                    .hub
                    .write(&bytes)
                    .await
                    .map_err(|e| Rejection::Error(format!("the shell is gone: {e}")))
            }
            Command::Resize(size) => shell
                .hub
                .resize(size)
                .await
                .map_err(|e| Rejection::Error(format!("resize failed: {e}"))),
            Command::Pause => {
                let _ = shell.paused.send(true);
                Ok(())
            }
            Command::Resume => {
                let _ = shell.paused.send(false);
                Ok(())
            }
            Command::Close | Command::Nothing => Ok(()),
        }
    }
}

/// Runs one WebSocket until either side ends it or `shutdown` fires.
pub async fn serve_socket(
    socket: WebSocket,
    mut viewer: Viewer,
    on_input: InputHook,
    shutdown: CancellationToken,
) {
    let (mut sink, stream) = socket.split();
    let (rejections_tx, rejections) = mpsc::channel(8);
    let (paused_tx, paused) = watch::channel(false);
    let shell = Shell {
        hub: viewer.hub().clone(),
        on_input,
        paused: paused_tx,
    };
    let reader = tokio::spawn(read(stream, viewer.typing_rights(), shell, rejections_tx));
    let reader_abort = reader.abort_handle();

    let replay = std::mem::take(&mut viewer.replay);
    if !replay.is_empty() && sink.send(Message::Binary(replay)).await.is_err() {
        reader_abort.abort();
        return;
    }
    let mut writer = Writer {
        viewer,
        rejections,
        paused,
        shutdown,
    };
    if writer.run(&mut sink).await == Ending::Closed {
        // Give the reader the client's answer to our Close (see `await_close`).
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE, reader).await;
    }
    reader_abort.abort();
}

/// The reader half: parses each client frame, applies it, and hands rejections to the
/// writer.
async fn read(
    mut stream: SplitStream<WebSocket>,
    typing: TypingRights,
    mut shell: Shell,
    rejections: mpsc::Sender<Rejection>,
) {
    while let Some(frame) = stream.next().await {
        let outcome = match parse(frame, Rights::now(&typing)) {
            Ok(Command::Close) => break,
            Ok(command) => command.apply(&mut shell).await,
            Err(rejection) => Err(rejection),
        };
        let Err(rejection) = outcome else { continue };
        let closing = matches!(rejection, Rejection::Close(..));
        if rejections.send(rejection).await.is_err() {
            break;
        }
        if closing {
            await_close(&mut stream).await;
            break;
        }
    }
}

/// The closing handshake: reads until the client answers our Close. Dropping the
/// socket with its frames unread would make the kernel reset the connection, and the
/// client would never see our code.
async fn await_close(stream: &mut SplitStream<WebSocket>) {
    while let Some(Ok(frame)) = stream.next().await {
        if matches!(frame, Message::Close(_)) {
            break;
        }
    }
}

/// What the writer does next.
#[derive(Debug, PartialEq)]
enum WriterAction {
    Send(ServerFrame),
    /// Sends a last control message (if any) and the Close frame.
    Close(Option<ServerControl>, u16, &'static str),
    /// Nothing to send now (the pause changed).
    Wait,
    /// The client is gone; nothing more can be sent.
    Gone,
}

/// How the writer ended.
#[derive(Debug, PartialEq)]
enum Ending {
    /// We sent a Close frame and the client should answer it.
    Closed,
    Gone,
}

/// The writer half: the viewer's output, rejections from the reader, flow control.
struct Writer {
    viewer: Viewer,
    rejections: mpsc::Receiver<Rejection>,
    paused: watch::Receiver<bool>,
    shutdown: CancellationToken,
}

impl Writer {
    async fn run(&mut self, sink: &mut SplitSink<WebSocket, Message>) -> Ending {
        loop {
            match self.next().await {
                WriterAction::Send(frame) => {
                    if sink.send(frame.into()).await.is_err() {
                        return Ending::Gone;
                    }
                }
                WriterAction::Close(notice, code, reason) => {
                    if let Some(notice) = notice {
                        let _ = sink.send(ServerFrame::Control(notice).into()).await;
                    }
                    let _ = sink.send(ServerFrame::Close(code, reason).into()).await;
                    return Ending::Closed;
                }
                WriterAction::Wait => {}
                WriterAction::Gone => return Ending::Gone,
            }
        }
    }

    async fn next(&mut self) -> WriterAction {
        let paused = *self.paused.borrow();
        tokio::select! {
            _ = self.shutdown.cancelled() => {
                WriterAction::Close(None, close_code::GOING_AWAY, "server shutting down")
            }
            // `None`: the reader ended, so the client closed the socket.
            rejection = self.rejections.recv() => rejection.map_or(WriterAction::Gone, answer),
            changed = self.paused.changed() => match changed {
                Ok(()) => WriterAction::Wait,
                Err(_) => WriterAction::Gone,
            },
            out = self.viewer.rx.recv(), if !paused => {
                output(out, self.viewer.hub().is_closed())
            }
        }
    }
}

/// The answer to a rejected client frame.
fn answer(rejection: Rejection) -> WriterAction {
    match rejection {
        Rejection::Error(message) => {
            WriterAction::Send(ServerFrame::Control(ServerControl::Error { message }))
        }
        Rejection::Close(code, reason) => WriterAction::Close(None, code, reason),
    }
}

/// What the viewer's next output becomes; `None` means the hub let go of the viewer,
/// because the shell was closed or because a watcher fell behind.
fn output(out: Option<Out>, shell_closed: bool) -> WriterAction {
    match out {
        Some(Out::Data(bytes)) => WriterAction::Send(ServerFrame::Output(bytes)),
        Some(Out::Exit(code)) => WriterAction::Close(
            Some(ServerControl::Exit { code }),
            close_code::NORMAL,
            "shell exited",
        ),
        None => {
            let message = if shell_closed {
                "the terminal was closed"
            } else {
                "this viewer fell too far behind and was disconnected"
            };
            WriterAction::Close(
                Some(ServerControl::Error {
                    message: message.into(),
                }),
                close_code::INTERNAL_ERROR,
                "terminal closed",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame as the socket yields it.
    type Frame = Result<Message, axum::Error>;
    type Parsed = Result<Command, Rejection>;

    fn text(s: &str) -> Frame {
        Ok(Message::Text(Utf8Bytes::from(s)))
    }

    fn binary(bytes: &'static [u8]) -> Frame {
        Ok(Message::Binary(Bytes::from_static(bytes)))
    }

    fn error(message: &str) -> Parsed {
        Err(Rejection::Error(message.into()))
    }

    const OWNER: Rights = Rights {
        input: true,
        resize: true,
    };
    const WATCHER: Rights = Rights {
        input: false,
        resize: false,
    };
    /// A watcher while the learner grants help.
    const HELPER: Rights = Rights {
        input: true,
        resize: false,
    };

    #[test]
    fn client_frames_parse_into_commands() {
        let big = vec![b'x'; MAX_CLIENT_FRAME + 1];
        let big_text = String::from_utf8(big.clone()).unwrap();
        let too_big = || Err(Rejection::Close(1009, "frame too large"));
        let size = |cols, rows| Ok(Command::Resize(TermSize { cols, rows }));
        let table: Vec<(Frame, Rights, Parsed)> = vec![
            (
                binary(b"ls\r"),
                OWNER,
                Ok(Command::Input(Bytes::from_static(b"ls\r"))),
            ),
            (
                binary(b"ls\r"),
                WATCHER,
                error("this terminal is read-only"),
            ),
            (
                binary(b"ls\r"),
                HELPER,
                Ok(Command::Input(Bytes::from_static(b"ls\r"))),
            ),
            (
                text(r#"{"type":"resize","cols":100,"rows":30}"#),
                HELPER,
                error("a read-only viewer cannot resize"),
            ),
            (Ok(Message::Binary(big.into())), OWNER, too_big()),
            (text(&big_text), WATCHER, too_big()),
            (
                text(r#"{"type":"resize","cols":100,"rows":30}"#),
                OWNER,
                size(100, 30),
            ),
            (
                text(r#"{"type":"resize","cols":1000,"rows":1}"#),
                OWNER,
                size(1000, 1),
            ),
            (
                text(r#"{"type":"resize","cols":100,"rows":30}"#),
                WATCHER,
                error("a read-only viewer cannot resize"),
            ),
            (
                text(r#"{"type":"resize","cols":0,"rows":30}"#),
                OWNER,
                error("resize to 0x30: columns and rows must be 1 to 1000"),
            ),
            (
                text(r#"{"type":"resize","cols":80,"rows":1001}"#),
                OWNER,
                error("resize to 80x1001: columns and rows must be 1 to 1000"),
            ),
            (text(r#"{"type":"pause"}"#), WATCHER, Ok(Command::Pause)),
            (text(r#"{"type":"resume"}"#), OWNER, Ok(Command::Resume)),
            (Ok(Message::Close(None)), WATCHER, Ok(Command::Close)),
            (Ok(Message::Ping(Bytes::new())), OWNER, Ok(Command::Nothing)),
            (
                Err(axum::Error::new("broken")),
                OWNER,
                Err(Rejection::Close(1002, "protocol error")),
            ),
        ];
        for (frame, rights, expected) in table {
            let shown = format!("{frame:?} with {rights:?}");
            assert_eq!(parse(frame, rights), expected, "{shown}");
        }
    }

    #[test]
    fn bad_control_messages_are_answered_not_fatal() {
        for bad in [
            r#"{"type":"resize","cols":-1,"rows":3}"#,
            r#"{"type":"dance"}"#,
            r#"{"type":"resize","cols":80}"#,
            "not json",
        ] {
            match parse(text(bad), OWNER) {
                Err(Rejection::Error(message)) => {
                    assert!(message.starts_with("bad control message: "), "{message}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn server_frames_are_json_control_or_bytes() {
        let exit: Message = ServerFrame::Control(ServerControl::Exit { code: Some(0) }).into();
        assert_eq!(exit, Message::Text(r#"{"type":"exit","code":0}"#.into()));
        let error: Message = ServerFrame::Control(ServerControl::Error {
            message: "no".into(),
        })
        .into();
        assert_eq!(
            error,
            Message::Text(r#"{"type":"error","message":"no"}"#.into())
        );
        let data: Message = ServerFrame::Output(Bytes::from_static(b"$ ")).into();
        assert_eq!(data, Message::Binary(Bytes::from_static(b"$ ")));
        let close: Message = ServerFrame::Close(1000, "shell exited").into();
        assert!(
            matches!(close, Message::Close(Some(f)) if f.code == 1000 && f.reason == "shell exited")
        );
    }

    #[test]
    fn output_and_rejections_become_server_frames() {
        let data = Bytes::from_static(b"hi");
        assert_eq!(
            output(Some(Out::Data(data.clone())), false),
            WriterAction::Send(ServerFrame::Output(data))
        );
        assert_eq!(
            output(Some(Out::Exit(Some(3))), false),
            WriterAction::Close(
                Some(ServerControl::Exit { code: Some(3) }),
                1000,
                "shell exited"
            )
        );
        let dropped = |message: &str| {
            WriterAction::Close(
                Some(ServerControl::Error {
                    message: message.into(),
                }),
                1011,
                "terminal closed",
            )
        };
        assert_eq!(output(None, true), dropped("the terminal was closed"));
        assert_eq!(
            output(None, false),
            dropped("this viewer fell too far behind and was disconnected")
        );
        assert_eq!(
            answer(Rejection::Close(1009, "frame too large")),
            WriterAction::Close(None, 1009, "frame too large")
        );
        assert_eq!(
            answer(Rejection::Error("no".into())),
            WriterAction::Send(ServerFrame::Control(ServerControl::Error {
                message: "no".into()
            }))
        );
    }
}
