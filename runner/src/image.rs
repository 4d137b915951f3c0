//! Node images: `image:` references pulled when missing, `build:` folders built once.
//!
//! A `build:` folder is tagged `playlab-build/<folder name>:<content hash>`, the hash
//! covering every file's path, kind, mode and bytes. An image with that tag is what
//! that folder builds to, so an unchanged folder is never rebuilt, across lessons and
//! server restarts, and an edited one always is. Concurrent starts needing the same
//! build wait for one build instead of running several.
//!
//! Both paths report [`Progress`] events (pull layers, build lines) and fail with
//! [`RunnerError::ImageUnavailable`] carrying the last lines of the log.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions, TagImageOptions};
use futures::StreamExt;
use scenarios::NodeImage;
use sha2::{Digest, Sha256};

use crate::backend::{Progress, ProgressSender};
use crate::error::RunnerError;

/// Log lines kept for the error message of a failed pull or build.
const ERROR_LOG_LINES: usize = 20;

/// Makes node images available on the Docker host.
pub struct ImageStore {
    docker: Docker,
    /// One lock per build tag, so concurrent sessions share one build.
    builds: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ImageStore {
    pub(crate) fn new(docker: Docker) -> ImageStore {
        ImageStore {
            docker,
            builds: Mutex::new(HashMap::new()),
        }
    }

    /// The local reference for a node image, pulling or building it first if needed.
    pub(crate) async fn ensure(
        &self,
        image: &NodeImage,
        progress: &ProgressSender,
    ) -> Result<String, RunnerError> {
        match image {
            NodeImage::Reference(reference) => self.ensure_reference(reference, progress).await,
            NodeImage::Build(dir) => self.build(dir, progress).await,
        }
    }

    /// Uses a local image as is; pulls it when missing.
    pub(crate) async fn ensure_reference(
        &self,
        reference: &str,
        progress: &ProgressSender,
    ) -> Result<String, RunnerError> {
        if self.exists(reference).await? {
            return Ok(reference.to_owned());
        }
        let (from_image, tag) = split_reference(reference);
        let mut pull = self.docker.create_image(
            Some(CreateImageOptions {
                from_image: Some(from_image.to_owned()),
                tag: tag.map(str::to_owned),
                ..Default::default()
            }),
            None,
            None,
        );
        let mut log = Tail::default();
        while let Some(event) = pull.next().await {
            match event {
                Ok(info) => {
                    let status = info.status.unwrap_or_default();
                    let layer = info.id.unwrap_or_default();
                    log.push(format!("{layer} {status}").trim().to_owned());
                    let detail = info.progress_detail.unwrap_or_default();
                    progress.send(Progress::Pull {
                        image: reference.to_owned(),
                        layer,
                        status,
                        current: detail.current.and_then(|c| u64::try_from(c).ok()),
                        total: detail.total.and_then(|t| u64::try_from(t).ok()),
                    });
                }
                Err(e) => return Err(log.unavailable(reference, "pull failed", e)),
            }
        }
        Ok(reference.to_owned())
    }

    /// Builds a Dockerfile folder unless an image for its current content exists;
    /// returns the content-hash tag.
    pub(crate) async fn build(
        &self,
        dir: &Path,
        progress: &ProgressSender,
    ) -> Result<String, RunnerError> {
        let context = BuildContext::read(dir).await?;
        let tag = context.tag.clone();
        let lock = self
            .builds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(tag.clone())
            .or_default()
            .clone();
        let _building = lock.lock().await;
        if self.exists(&tag).await? {
            return Ok(tag);
        }
        let archive = context.archive().await?;
        let mut build = self.docker.build_image(
            BuildImageOptions {
                t: Some(tag.clone()),
                rm: true,
                forcerm: true,
                ..Default::default()
            },
            None,
            Some(bollard::body_full(archive.into())),
        );
        let mut log = Tail::default();
        let mut build_lines = LineSplitter::default();
        while let Some(event) = build.next().await {
            match event {
                Ok(info) => {
                    let text = info.stream.or(info.status).unwrap_or_default();
                    for line in build_lines.push(&text) {
                        log.push(line.clone());
                        progress.send(Progress::Build {
                            image: tag.clone(),
                            line,
                        });
                    }
                }
                Err(e) => {
                    log.extend(build_lines.finish());
                    return Err(log.unavailable(&tag, "build failed", e));
                }
            }
        }
        // The daemon can end the stream without an error and without an image (a
        // dropped connection); do not hand out a tag that does not exist.
        if !self.exists(&tag).await? {
            log.extend(build_lines.finish());
            return Err(log.unavailable(&tag, "build produced no image", "stream ended"));
        }
        Ok(tag)
    }

    /// Builds a folder (e.g. `content/images/base`) and tags the image `reference`
    /// too (e.g. [`scenarios::killercoda::BASE_IMAGE`]), so that lessons and the
    /// Killercoda image table can name it.
    pub async fn build_tagged(
        &self,
        dir: &Path,
        reference: &str,
        progress: &ProgressSender,
    ) -> Result<String, RunnerError> {
        let built = self.build(dir, progress).await?;
        let (repo, tag) = split_reference(reference);
        self.docker
            .tag_image(
                &built,
                Some(TagImageOptions {
                    repo: Some(repo.to_owned()),
                    tag: tag.map(str::to_owned),
                }),
            )
            .await?;
        Ok(reference.to_owned())
    }

    async fn exists(&self, reference: &str) -> Result<bool, RunnerError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// `name[:tag]` split for the pull API, which pulls *every* tag when given none: a
/// reference without tag or digest means `latest`.
pub(crate) fn split_reference(reference: &str) -> (&str, Option<&str>) {
    if reference.contains('@') {
        return (reference, None);
    }
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[name_start..].rfind(':') {
        Some(i) => (
            &reference[..name_start + i],
            Some(&reference[name_start + i + 1..]),
        ),
        None => (reference, Some("latest")),
    }
}

/// Cuts a build's output into lines. The engine sends output in chunks that need not
/// end at a line break (a `RUN` step's output arrives as the process writes it), so a
/// line can span chunks; a carriage return (progress bars) also ends a line.
#[derive(Default)]
struct LineSplitter {
    partial: String,
}

impl LineSplitter {
    /// The lines `chunk` completes, without blank ones.
    fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let Some(end) = self.partial.rfind(['\n', '\r']) else {
            return Vec::new();
        };
        let rest = self.partial.split_off(end + 1);
        let done = std::mem::replace(&mut self.partial, rest);
        non_blank_lines(&done)
    }

    /// Whatever is left when the output ends.
    fn finish(&mut self) -> Vec<String> {
        non_blank_lines(&std::mem::take(&mut self.partial))
    }
}

fn non_blank_lines(text: &str) -> Vec<String> {
    text.split(['\n', '\r'])
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The last lines of a pull or build log, for the error message.
#[derive(Default)]
struct Tail(VecDeque<String>);

impl Tail {
    fn push(&mut self, line: String) {
        if self.0.len() == ERROR_LOG_LINES {
            self.0.pop_front();
        }
        self.0.push_back(line);
    }

    fn extend(&mut self, lines: Vec<String>) {
        for line in lines {
            self.push(line);
        }
    }

    fn unavailable(self, image: &str, what: &str, error: impl std::fmt::Display) -> RunnerError {
        let mut reason = format!("{what}: {error}");
        for line in self.0 {
            reason.push_str("\n  ");
            reason.push_str(&line);
        }
        RunnerError::ImageUnavailable {
            image: image.to_owned(),
            reason,
        }
    }
}

/// A `build:` folder: its files in a stable order, and the tag its content hashes to.
pub(crate) struct BuildContext {
    dir: PathBuf,
    /// Paths relative to `dir`, sorted.
    entries: Vec<PathBuf>,
    pub(crate) tag: String,
}

impl BuildContext {
    /// Lists and hashes the folder (on a blocking thread: it reads every file).
    pub(crate) async fn read(dir: &Path) -> Result<BuildContext, RunnerError> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || BuildContext::read_blocking(&dir))
            .await
            .map_err(|source| RunnerError::BlockingTask {
                task: "hashing a build folder",
                source,
            })?
    }

    fn read_blocking(dir: &Path) -> Result<BuildContext, RunnerError> {
        let io = |context: String| move |source| RunnerError::Io { context, source };
        if !dir.join("Dockerfile").is_file() {
            return Err(RunnerError::ImageUnavailable {
                image: dir.display().to_string(),
                reason: "the build folder has no Dockerfile".to_owned(),
            });
        }
        let mut hasher = Sha256::new();
        let mut entries = Vec::new();
        for entry in walkdir::WalkDir::new(dir)
            .min_depth(1)
            .sort_by_file_name()
            .follow_links(false)
        {
            let entry = entry.map_err(|e| RunnerError::Io {
                context: format!("listing {}", dir.display()),
                source: e.into(),
            })?;
            let relative = entry
                .path()
                .strip_prefix(dir)
                .expect("walkdir yields paths under its root")
                .to_owned();
            let metadata = entry.metadata().map_err(|e| RunnerError::Io {
                context: format!("reading {}", entry.path().display()),
                source: e.into(),
            })?;
            use std::os::unix::fs::PermissionsExt;
            let kind = entry.file_type();
            let content = if kind.is_file() {
                std::fs::read(entry.path())
                    .map_err(io(format!("reading {}", entry.path().display())))?
            } else if kind.is_symlink() {
                std::fs::read_link(entry.path())
                    .map_err(io(format!("reading {}", entry.path().display())))?
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                Vec::new()
            };
            // Length-prefixed fields: no two different folders hash the same.
            let path_bytes = relative.as_os_str().as_encoded_bytes();
            hasher.update((path_bytes.len() as u64).to_le_bytes());
            hasher.update(path_bytes);
            hasher.update([kind.is_dir() as u8, kind.is_symlink() as u8]);
            hasher.update(metadata.permissions().mode().to_le_bytes());
            hasher.update((content.len() as u64).to_le_bytes());
            hasher.update(&content);
            entries.push(relative);
        }
        let hash = hex::encode(hasher.finalize());
        let name = dir
            .file_name()
            .map(|n| sanitize_repository(&n.to_string_lossy()))
            .unwrap_or_else(|| "image".to_owned());
        Ok(BuildContext {
            dir: dir.to_owned(),
            entries,
            tag: format!("playlab-build/{name}:{}", &hash[..16]),
        })
    }

    /// The folder as the tar archive Docker builds from.
    pub(crate) async fn archive(&self) -> Result<Vec<u8>, RunnerError> {
        let dir = self.dir.clone();
        let entries = self.entries.clone();
        tokio::task::spawn_blocking(move || {
            let mut builder = tar::Builder::new(Vec::new());
            builder.follow_symlinks(false);
            builder.mode(tar::HeaderMode::Deterministic);
            for relative in &entries {
                builder.append_path_with_name(dir.join(relative), relative)?;
            }
            builder.into_inner()
        })
        .await
        .map_err(|source| RunnerError::BlockingTask {
            task: "packing a build folder",
            source,
        })?
        .map_err(|source| RunnerError::Io {
            context: format!("packing {}", self.dir.display()),
            source,
        })
    }
}

/// A folder name as a Docker repository path component.
fn sanitize_repository(name: &str) -> String {
    let cleaned: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '-' || c == '_');
    if cleaned.is_empty() {
        "image".to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_is_cut_into_lines_across_chunks() {
        let mut lines = LineSplitter::default();
        let mut seen = Vec::new();
        for chunk in [
            "Step 1/2 : RUN cu",
            "rl x\n",
            "c",
            "url: (6) Could not resolve ho",
            "st: pkgs.k8s.io\n\n",
            "10%\r20%\r",
            "tail",
        ] {
            seen.extend(lines.push(chunk));
        }
        seen.extend(lines.finish());
        assert_eq!(
            seen,
            [
                "Step 1/2 : RUN curl x",
                "curl: (6) Could not resolve host: pkgs.k8s.io",
                "10%",
                "20%",
                "tail"
            ]
        );
    }

    #[test]
    fn references_split_into_name_and_tag() {
        let cases = [
            ("debian", ("debian", Some("latest"))),
            ("debian:bookworm-slim", ("debian", Some("bookworm-slim"))),
            ("localhost:5000/x/y", ("localhost:5000/x/y", Some("latest"))),
            ("localhost:5000/x/y:1", ("localhost:5000/x/y", Some("1"))),
            ("a/b@sha256:00", ("a/b@sha256:00", None)),
        ];
        for (reference, expected) in cases {
            assert_eq!(split_reference(reference), expected, "{reference}");
        }
    }

    #[test]
    fn repository_names_are_sanitized() {
        assert_eq!(sanitize_repository("base"), "base");
        assert_eq!(sanitize_repository("My Image.v2"), "my-image-v2");
        assert_eq!(sanitize_repository("__"), "image");
    }

    #[tokio::test]
    async fn content_hash_follows_content_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("img");
        std::fs::create_dir_all(root.join("files")).unwrap();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(root.join("files/a.sh"), "echo a\n").unwrap();
        let tag = |p: &Path| {
            let p = p.to_owned();
            async move { BuildContext::read(&p).await.unwrap().tag }
        };
        let first = tag(&root).await;
        assert!(first.starts_with("playlab-build/img:"), "{first}");
        assert_eq!(tag(&root).await, first, "same content, same tag");

        std::fs::set_permissions(
            root.join("files/a.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let chmodded = tag(&root).await;
        assert_ne!(chmodded, first, "mode is part of the content");

        std::fs::write(root.join("files/a.sh"), "echo b\n").unwrap();
        assert_ne!(tag(&root).await, chmodded, "bytes are part of the content");

        let context = BuildContext::read(&root).await.unwrap();
        let archive = context.archive().await.unwrap();
        let names: Vec<String> = tar::Archive::new(archive.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["Dockerfile", "files", "files/a.sh"]);
    }

    #[tokio::test]
    async fn a_folder_without_dockerfile_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        match BuildContext::read(dir.path()).await {
            Err(RunnerError::ImageUnavailable { reason, .. }) => {
                assert!(reason.contains("no Dockerfile"), "{reason}")
            }
            other => panic!("expected ImageUnavailable, got {:?}", other.map(|c| c.tag)),
        }
    }
}
