//! Terminals that survive the network: one shell per node, shared by its viewers,
//! streamed over WebSockets.
//!
//! Two halves: `hub` is the transport-free fan-out (the shell, its replay, its
//! viewers and their flow control, the grace timer), which the session core uses on
//! its own; `ws` is the WebSocket protocol that connects one browser to one viewer.

mod hub;
mod ws;

pub use hub::{InputHook, Out, Presence, REPLAY_BYTES, Role, TerminalHub, Terminals, Viewer};
pub use ws::{MAX_CLIENT_FRAME, MAX_TERM_DIMENSION, serve_socket};
