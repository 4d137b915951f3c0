//! What the Docker engine's error answers mean to the backend.

fn status_code(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The object (container, network, exec) does not exist.
pub(super) fn is_not_found(e: &bollard::errors::Error) -> bool {
    status_code(e) == Some(404)
}

/// The outcome of removing several objects: each one gone, whether this request or
/// another (a racing destroy) removed it, is success; the first other error is not.
pub(super) fn all_removed(
    results: Vec<Result<(), bollard::errors::Error>>,
) -> Result<(), crate::error::RunnerError> {
    for result in results {
        match result {
            Err(e) if !is_not_found(&e) && !is_removal_in_progress(&e) => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Another request is removing the container already.
fn is_removal_in_progress(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, message }
        if message.contains("already in progress"))
}
