//! Non-interactive commands on a node (setup scripts, checks, `playlab test`).
//!
//! The timeout is enforced inside the node, where the processes are: the script runs
//! under `timeout -s KILL`, which puts the script in its own process group and kills
//! the whole group, so background children die with it. Images without a `timeout`
//! binary get a shell watchdog instead. A client-side deadline a little later covers
//! the case where an escaped process keeps the output open.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::backend::{ExecOutput, ExecRequest};
use crate::error::RunnerError;

/// Runs `$2` with bash (or sh where there is no bash), killed with its process group
/// after `$1` seconds. `$0` names the process in `ps`.
const EXEC_WRAPPER: &str = r#"s=sh; command -v bash >/dev/null 2>&1 && s=bash
command -v timeout >/dev/null 2>&1 && exec timeout -s KILL "$1" "$s" -c "$2"
"$s" -c "$2" & p=$!
(sleep "$1"; kill -KILL "$p") 2>/dev/null & w=$!
wait "$p"; c=$?; kill "$w" 2>/dev/null; exit "$c""#;

/// What `docker exec` reports for a process killed by SIGKILL (128 + 9).
const KILLED_EXIT_CODE: i64 = 137;

/// How long past the timeout the client stops waiting for the output to end.
const CLIENT_GRACE: Duration = Duration::from_secs(5);

/// Runs a script in a container; see [`crate::Backend::exec`].
pub(super) async fn run(
    docker: &Docker,
    container: &str,
    request: ExecRequest,
) -> Result<ExecOutput, RunnerError> {
    let exec = docker
        .create_exec(container, exec_options(&request))
        .await?;
    let started = Instant::now();
    let StartExecResults::Attached { output, mut input } = docker
        .start_exec(&exec.id, Some(StartExecOptions::default()))
        .await?
    else {
        return Err(RunnerError::ExecDetached {
            container: container.to_owned(),
        });
    };

    // Feed stdin while reading, so a script that writes before it reads cannot
    // deadlock against us; closing our side gives the script end-of-file.
    let feed = async {
        if let Some(stdin) = &request.stdin {
            let _ = input.write_all(stdin).await;
        }
        let _ = input.shutdown().await;
    };
    let mut stdout = Capture::new(request.output_limit);
    let mut stderr = Capture::new(request.output_limit);
    let collect = async {
        let mut output = output;
        while let Some(item) = output.next().await {
            match item? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    stdout.push(&message)
                }
                LogOutput::StdErr { message } => stderr.push(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
        Ok::<(), bollard::errors::Error>(())
    };
    let finished = tokio::time::timeout(request.timeout + CLIENT_GRACE, async {
        let ((), collected) = futures::join!(feed, collect);
        collected
    })
    .await;

    let (exit_code, timed_out) = match finished {
        Err(_elapsed) => (None, true),
        Ok(collected) => {
            collected?;
            let code = docker.inspect_exec(&exec.id).await?.exit_code;
            // 137 alone could be the script's own doing (or the OOM killer): only
            // when the timeout has passed is it ours.
            if code == Some(KILLED_EXIT_CODE) && started.elapsed() >= request.timeout {
                (None, true)
            } else {
                (code, false)
            }
        }
    };
    Ok(ExecOutput {
        exit_code,
        truncated: stdout.truncated || stderr.truncated,
        stdout: stdout.into_string(),
        stderr: stderr.into_string(),
        timed_out,
    })
}

/// The exec: the wrapper running the script as root, with the request's variables.
fn exec_options(request: &ExecRequest) -> CreateExecOptions<String> {
    CreateExecOptions {
        cmd: Some(vec![
            "sh".to_owned(),
            "-c".to_owned(),
            EXEC_WRAPPER.to_owned(),
            "playlab-exec".to_owned(),
            timeout_arg(request.timeout),
            request.script.clone(),
        ]),
        env: Some(
            request
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        attach_stdin: Some(request.stdin.is_some()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        // Setup and checks run as root whatever the image's `USER` says: a check
        // must be able to read what the learner made, wherever it is.
        user: Some("root".to_owned()),
        ..Default::default()
    }
}

/// Seconds with millisecond precision; never zero, which `timeout` reads as "none".
fn timeout_arg(timeout: Duration) -> String {
    let millis = timeout.as_millis().max(1);
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// One output stream, kept up to the request's output limit; the rest is read and
/// dropped so the command is never blocked on a full pipe.
struct Capture {
    bytes: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl Capture {
    fn new(limit: usize) -> Capture {
        Capture {
            bytes: Vec::new(),
            limit,
            truncated: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let room = self.limit - self.bytes.len();
        if chunk.len() > room {
            self.truncated = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn into_string(self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_argument() {
        assert_eq!(timeout_arg(Duration::from_secs(10)), "10.000");
        assert_eq!(timeout_arg(Duration::from_millis(1500)), "1.500");
        assert_eq!(timeout_arg(Duration::ZERO), "0.001");
    }

    #[test]
    fn capture_is_bounded() {
        let mut c = Capture::new(100);
        c.push(&[b'a'; 99]);
        assert!(!c.truncated);
        c.push(b"bc");
        c.push(b"d");
        assert!(c.truncated);
        assert_eq!(c.bytes.len(), 100);
        assert_eq!(c.bytes.last(), Some(&b'b'));
    }
}
