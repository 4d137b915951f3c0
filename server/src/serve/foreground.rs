//! Killercoda `foreground` scripts: run in the learner's terminal, where they watch
//! them (`Installing scenario...`, a `docker run` pulling, a `clear`).
//!
//! How a script gets there. Typing it line by line into the shell would echo every
//! line (and `> ` prompts for multi-line constructs), let any command that reads its
//! input (`read`, `docker exec -it`) swallow the lines typed after it, and an `exit`
//! would end the learner's shell. Piping it into `bash -c` or a here-doc would take the
//! terminal away from the script (its input would be the here-doc, so `docker exec -it`,
//! which scenarios use to put the learner inside a container, fails) and would lose a
//! `cd`, which scenarios rely on (`mkdir ~/scenario && cd ~/scenario`).
//!
//! So the script is copied onto the node out of sight, and one short line is typed:
//! `. /tmp/playlab-foreground-XXXX/run`. That wrapper runs the script in a subshell of
//! the learner's shell, whose input is the terminal; an `exit` ends only the subshell;
//! afterwards the learner's shell moves to the directory the script ended in, then the
//! folder is removed. What the script defines (variables, functions, aliases) does not
//! outlive the subshell: that is the price of a shell an `exit` cannot kill.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use runner::{Backend, ExecRequest, RunnerError, SessionId};

use super::terminals::Terminals;

/// Copying a script onto its node is one small exec.
const STAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A foreground script staged on its node: the exec that copies it there (the script
/// is its standard input), and the line typed to run it.
#[derive(Debug)]
struct Staged {
    copy: ExecRequest,
    line: String,
}

/// Stages `script` in `dir`, an absolute path of letters, digits and `/-_.` (so it
/// needs no quoting in either script).
fn stage(dir: &str, script: &str) -> Staged {
    // The trap runs when the subshell ends, normally or by `exit`, and records where
    // the script left off; the `[ ... ] ||` spares the learner's `cd -` an extra step
    // when the script did not move.
    let wrapper = format!(
        "( trap 'pwd > {dir}/cwd' EXIT; . {dir}/script )\n\
         [ \"$(cat {dir}/cwd 2>/dev/null || pwd)\" = \"$PWD\" ] || cd \"$(cat {dir}/cwd)\"\n\
         rm -rf {dir}\n"
    );
    let copy = format!(
        "mkdir -m 700 {dir} && cat > {dir}/script && cat > {dir}/run <<'PLAYLAB_FOREGROUND'\n\
         {wrapper}PLAYLAB_FOREGROUND\n"
    );
    let mut copy = ExecRequest::new(copy, STAGE_TIMEOUT);
    copy.stdin = Some(Bytes::from(script.to_owned()));
    Staged {
        copy,
        // A carriage return is what the Enter key sends.
        line: format!(". {dir}/run\r"),
    }
}

/// Runs a foreground script in `node`'s terminal (started if none runs), as described
/// in the module documentation. Returns once it is typed, not when it finishes.
pub async fn run(
    backend: &dyn Backend,
    terminals: &std::sync::Arc<Terminals>,
    session: &SessionId,
    node: &str,
    script: &str,
) -> Result<(), RunnerError> {
    // Random, because the local backend's nodes share this machine's /tmp.
    let dir = format!(
        "/tmp/playlab-foreground-{:016x}",
        rand::rng().random::<u64>()
    );
    let staged = stage(&dir, script);
    let out = backend.exec(session, node, staged.copy).await?;
    if !out.success() {
        return Err(RunnerError::CopyFailed {
            node: node.to_owned(),
            what: "the foreground script".to_owned(),
            exit_code: out.exit_code,
            stderr: out.stderr.trim().to_owned(),
        });
    }
    terminals.type_input(node, staged.line.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wrapper, run by `sh` the way the learner's shell runs it: the script's
    /// output shows, its `exit` ends only the script, its `cd` carries over, and the
    /// staging folder is gone afterwards.
    #[test]
    fn the_wrapper_survives_exit_and_keeps_cd() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_str().unwrap();
        assert!(
            root.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c)),
            "{root}"
        );
        let dir = format!("{root}/playlab-foreground-test");
        let script = format!(
            "echo fg-$((6*7))\nmkdir -p {root}/moved && cd {root}/moved\nexit 3\necho not-reached\n"
        );
        let staged = stage(&dir, &script);
        let copy = std::process::Command::new("sh")
            .arg("-c")
            .arg(&staged.copy.script)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(script.as_bytes())?;
                child.wait()
            })
            .unwrap();
        assert!(copy.success());
        let line = staged.line.trim_end_matches('\r');
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{line}; echo after=$PWD; echo shell-alive"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout,
            format!("fg-42\nafter={root}/moved\nshell-alive\n"),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !std::path::Path::new(&dir).exists(),
            "the folder is removed"
        );
    }
}
