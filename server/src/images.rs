//! The node images playlab builds itself: those the built-in Killercoda table
//! ([`scenarios::ImageMap::builtin`]) names, from the folders under `content/images/`.
//! `serve` builds them in the background at start; `test` builds those its lessons
//! use before testing. Builds are cached by content, so after the first time this is
//! one image lookup each.

use std::path::Path;

use runner::ProgressSender;
use runner::image::ImageStore;
use scenarios::killercoda::{BASE_IMAGE, DOCKER_NODE_IMAGE};

/// Each built-in image: its folder under `content/images/`, and its tag.
pub const BUILT_IN: [(&str, &str); 2] = [("base", BASE_IMAGE), ("docker-node", DOCKER_NODE_IMAGE)];

/// Builds every built-in image `wanted` names whose folder exists under `images_dir`,
/// one after the other (two builds at once would only compete for the same CPUs);
/// `report` hears each outcome, as a line for the log.
pub async fn build_built_in(
    images: &ImageStore,
    images_dir: &Path,
    wanted: impl Fn(&str) -> bool,
    report: impl Fn(Result<String, String>),
) {
    for (folder, tag) in BUILT_IN {
        let dir = images_dir.join(folder);
        if !wanted(tag) || !dir.join("Dockerfile").is_file() {
            continue;
        }
        let progress = ProgressSender::discard();
        report(match images.build_tagged(&dir, tag, &progress).await {
            Ok(image) => Ok(format!("image {image} ready (from {})", dir.display())),
            Err(e) => Err(format!("building {}: {e}", dir.display())),
        });
    }
}
