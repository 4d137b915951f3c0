//! The local backend: nodes as shells on this machine, for lesson authors without Docker.
//!
//! **It gives no isolation.** A node is a temporary directory and the shells run as the
//! user running playlab, with that user's access to the whole machine. The server only
//! allows this backend when it is bound to loopback.

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

use crate::docker::NodeFile;

/// Where a node's absolute path lands: under the node's directory, never on the host's
/// own `/etc` or `/root`, since a local node has no filesystem of its own. A path with
/// `..` could climb out of the node's directory, so it is refused.
pub fn node_path(root: &Path, path: &str) -> io::Result<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{path:?} climbs out of the node's directory"),
        ));
    }
    Ok(root.join(relative))
}

/// Writes `files` under `root` (see [`node_path`]) with their modes, creating parent
/// directories.
pub fn write_node_files(root: &Path, files: &[NodeFile]) -> io::Result<()> {
    for file in files {
        let path = node_path(root, &file.path)?;
        let with_context =
            |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(with_context)?;
        }
        std::fs::write(&path, &file.contents).map_err(with_context)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode))
            .map_err(with_context)?;
    }
    Ok(())
}
