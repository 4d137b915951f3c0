//! Interactive terminals: a TTY exec running a login shell, streamed raw.
//!
//! bollard's `start_exec` decodes output with a decoder that guesses, per chunk,
//! whether it is looking at Docker's 8-byte multiplexing header: a chunk starting with
//! byte 0, 1 or 2 is taken as a header. A TTY stream has no headers, so TTY output
//! that happens to start with such a byte (vim and tmux redraws can) would be eaten
//! or garbled. So terminals start the exec themselves: one HTTP/1.1 request on the
//! Engine's socket with `Upgrade: tcp`, and the upgraded connection is the terminal,
//! byte for byte.
//!
//! Backpressure comes for free: the output stream reads the socket only when polled,
//! so a consumer that stops reading fills the kernel's socket buffer, Docker stops
//! reading the pty, and the shell blocks. No queue in between.
//!
//! Docker does not end an exec when its client goes away: the shell would live on,
//! unseen, for the rest of the session. So each terminal's processes carry a marker in
//! their environment, and when the terminal is dropped they get what a closed terminal
//! sends, SIGHUP, then SIGKILL for whatever ignored it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::exec::{CreateExecOptions, ResizeExecOptions};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_util::io::ReaderStream;

use super::EngineAddress;
use super::exec;
use crate::backend::{ExecRequest, TermSize, Terminal, TerminalControl};
use crate::error::{BoxError, RunnerError};
use crate::session::SessionId;

/// Sets the size before the shell reads it (the resize call can lose that race), then
/// starts a login shell: bash where there is one, else sh.
const TERMINAL_WRAPPER: &str = r#"stty cols "$1" rows "$2" 2>/dev/null
command -v bash >/dev/null 2>&1 && exec bash -l
exec sh -l"#;

/// Marks every process of one terminal, for [`HangUp`].
const TERMINAL_MARKER: &str = "PLAYLAB_TERMINAL";

/// Hangs up, then kills, every process whose environment has the marker `$1`.
const HANGUP_SCRIPT: &str = r#"pids() {
  for p in /proc/[0-9]*; do
    tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qx "$1" && echo "${p#/proc/}"
  done
}
kill -HUP $(pids "$1") 2>/dev/null; sleep 1; kill -KILL $(pids "$1") 2>/dev/null; true"#;

/// Read buffer of the output stream: the most the terminal holds between socket and
/// consumer.
const OUTPUT_CHUNK: usize = 16 * 1024;

pub(super) async fn attach(
    docker: &Docker,
    engine: &EngineAddress,
    container: &str,
    size: TermSize,
) -> Result<Terminal, RunnerError> {
    let marker = format!("{TERMINAL_MARKER}={}", SessionId::random());
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(vec![
                    "sh".to_owned(),
                    "-c".to_owned(),
                    TERMINAL_WRAPPER.to_owned(),
                    "playlab-terminal".to_owned(),
                    size.cols.to_string(),
                    size.rows.to_string(),
                ]),
                env: Some(vec![
                    "TERM=xterm-256color".to_owned(),
                    "LANG=C.UTF-8".to_owned(),
                    marker.clone(),
                ]),
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(true),
                ..Default::default()
            },
        )
        .await?;
    let connection = start_raw(docker, engine, &exec.id).await?;
    let hangup = Arc::new(HangUp {
        docker: docker.clone(),
        container: container.to_owned(),
        exec_id: exec.id.clone(),
        marker,
    });
    let control = ExecControl {
        docker: docker.clone(),
        exec_id: exec.id,
        _hangup: hangup.clone(),
    };
    // The wrapper's stty covers the shell's first read; this tells Docker too.
    if let Err(e) = control.resize(size).await {
        tracing::debug!(error = %e, "initial terminal resize");
    }
    let (read, write) = tokio::io::split(connection);
    Ok(Terminal {
        output: ReaderStream::with_capacity(read, OUTPUT_CHUNK)
            .map(move |chunk| {
                // The stream holds the hang-up guard as long as it lives.
                let _alive = &hangup;
                chunk
            })
            .boxed(),
        input: Box::pin(write),
        control: Box::new(control),
    })
}

/// Starts an exec on its own connection and returns the upgraded, raw connection.
async fn start_raw(
    docker: &Docker,
    engine: &EngineAddress,
    exec_id: &str,
) -> Result<TokioIo<hyper::upgrade::Upgraded>, RunnerError> {
    let failed = |e: BoxError| RunnerError::Terminal {
        action: "starting",
        place: format!("(exec {exec_id} on {engine})"),
        source: e,
    };
    // Mid-session the engine answered a moment ago, so a failed connect is this
    // terminal's failure, not a missing engine (`DockerBackend::connect` says that).
    let stream: Box<dyn Connection> = match engine {
        EngineAddress::Unix(path) => Box::new(
            UnixStream::connect(path)
                .await
                .map_err(|e| failed(e.into()))?,
        ),
        EngineAddress::Tcp(authority) => {
            let tcp = TcpStream::connect(authority)
                .await
                .map_err(|e| failed(e.into()))?;
            // Keystrokes and their echo are small writes: none may wait for an ACK.
            let _ = tcp.set_nodelay(true);
            Box::new(tcp)
        }
        EngineAddress::Tls { authority, files } => {
            let tcp = TcpStream::connect(authority)
                .await
                .map_err(|e| failed(e.into()))?;
            let _ = tcp.set_nodelay(true);
            let host = authority
                .rsplit_once(':')
                .map_or(authority.as_str(), |(host, _)| host)
                .trim_start_matches('[')
                .trim_end_matches(']');
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|e| failed(e.into()))?;
            let connector = tokio_rustls::TlsConnector::from(files.client_config()?);
            Box::new(
                connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| failed(e.into()))?,
            )
        }
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(e.into()))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "terminal connection");
        }
    });
    let version = docker.client_version();
    let request = http::Request::post(format!(
        "http://docker/v{}.{}/exec/{exec_id}/start",
        version.major_version, version.minor_version
    ))
    .header(http::header::HOST, "docker")
    .header(http::header::CONTENT_TYPE, "application/json")
    .header(http::header::CONNECTION, "Upgrade")
    .header(http::header::UPGRADE, "tcp")
    .body(Full::new(Bytes::from_static(
        br#"{"Detach":false,"Tty":true}"#,
    )))
    .map_err(|e| failed(e.into()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed(e.into()))?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(failed(
            format!("Docker answered {}", response.status()).into(),
        ));
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| failed(e.into()))?;
    Ok(TokioIo::new(upgraded))
}

/// A connection to the engine, whichever its address.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

struct ExecControl {
    docker: Docker,
    exec_id: String,
    _hangup: Arc<HangUp>,
}

/// Ends a terminal's processes once both its output stream and its control are gone.
struct HangUp {
    docker: Docker,
    container: String,
    exec_id: String,
    marker: String,
}

impl Drop for HangUp {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(exec = %self.exec_id, "terminal dropped outside a runtime; its shell stays");
            return;
        };
        let docker = self.docker.clone();
        let container = std::mem::take(&mut self.container);
        let exec_id = std::mem::take(&mut self.exec_id);
        let marker = std::mem::take(&mut self.marker);
        runtime.spawn(async move {
            // A shell that already exited (the learner typed `exit`) needs nothing.
            if let Ok(inspect) = docker.inspect_exec(&exec_id).await
                && inspect.running == Some(false)
            {
                return;
            }
            // The marker is letters, digits, `_` and `=`: safe unquoted.
            let script = format!("set -- {marker}\n{HANGUP_SCRIPT}");
            let request = ExecRequest::new(script, Duration::from_secs(10));
            if let Err(e) = exec::run(&docker, &container, request).await {
                tracing::debug!(%container, error = %e, "hanging up a terminal");
            }
        });
    }
}

#[async_trait]
impl TerminalControl for ExecControl {
    async fn resize(&self, size: TermSize) -> Result<(), RunnerError> {
        self.docker
            .resize_exec(
                &self.exec_id,
                ResizeExecOptions {
                    width: size.cols,
                    height: size.rows,
                },
            )
            .await?;
        Ok(())
    }

    async fn exit_code(&self) -> Result<Option<i64>, RunnerError> {
        let inspect = self.docker.inspect_exec(&self.exec_id).await?;
        Ok(match inspect.running {
            Some(false) => inspect.exit_code,
            _ => None,
        })
    }
}
