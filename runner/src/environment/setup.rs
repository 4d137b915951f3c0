//! Running setup scripts, with each line of their output as progress.

use std::time::Duration;

use scenarios::Script;

use crate::backend::{Backend, ExecRequest, Progress, ProgressSender};
use crate::error::RunnerError;
use crate::session::SessionId;

/// How long one setup script may run before it is killed, unless the operator says
/// otherwise: long enough for a package install on a slow mirror.
pub const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `scripts` in order, each on its node and killed after `timeout`. Every line of
/// a script's output becomes a [`Progress::Setup`]; the first script that fails stops
/// the rest with [`RunnerError::SetupFailed`], carrying its output.
pub async fn run_setup<'s, B>(
    backend: &B,
    session: &SessionId,
    scripts: impl IntoIterator<Item = &'s Script> + Send,
    timeout: Duration,
    progress: &ProgressSender,
) -> Result<(), RunnerError>
where
    B: Backend + ?Sized,
{
    for script in scripts {
        let out = backend
            .exec(
                session,
                &script.node,
                ExecRequest::new(&script.run, timeout),
            )
            .await?;
        for line in format!("{}{}", out.stdout, out.stderr).lines() {
            progress.send(Progress::Setup {
                node: script.node.clone(),
                line: line.to_owned(),
            });
        }
        if !out.success() {
            return Err(RunnerError::SetupFailed {
                node: script.node.clone(),
                exit_code: out.exit_code,
                stdout: out.stdout,
                stderr: out.stderr,
                killed_after: out.timed_out.then_some(timeout),
            });
        }
    }
    Ok(())
}
