//! The recording settings, declared once (flag, `PLAYLAB_*` variable, TOML key) and
//! validated into a [`RecordingConfig`]. `serve`'s [`Settings`](crate::serve::Settings)
//! flattens them in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// `--recording`: whether terminals are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordingMode {
    /// Every terminal's output and its owner's input go to a `.cast` file.
    On,
    /// Nothing is recorded.
    Off,
}

/// The recording settings as the operator wrote them.
#[derive(Debug, Default, Clone, PartialEq, clap::Args, Deserialize)]
pub struct RecordingSettings {
    /// Record every terminal (output, the learner's input, check verdicts) as an
    /// asciicast file the instructor can replay: `on` or `off` [default: on].
    #[arg(long, env = "PLAYLAB_RECORDING", value_enum)]
    pub recording: Option<RecordingMode>,
    /// Where recordings are kept, one folder per session [default: DATA/recordings].
    #[arg(long, env = "PLAYLAB_RECORDINGS_DIR")]
    pub recordings_dir: Option<PathBuf>,
    /// Recordings last written longer ago than this are deleted, e.g. `7d` or `12h`
    /// [default: 7d].
    #[arg(long, env = "PLAYLAB_RECORDING_RETENTION")]
    pub recording_retention: Option<String>,
    /// Most a session's recordings may hold together, e.g. `16Mi`; past it recording
    /// stops (the terminal goes on); `0` turns recording off [default: 16Mi].
    #[arg(long, env = "PLAYLAB_RECORDING_MAX_BYTES")]
    pub recording_max_bytes: Option<String>,
}

/// The validated recording settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingConfig {
    pub enabled: bool,
    pub dir: PathBuf,
    pub retention: Duration,
    /// Per session, over all its nodes and shells.
    pub max_bytes: u64,
}

impl RecordingConfig {
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
    pub const DEFAULT_MAX_BYTES: u64 = 16 << 20;

    /// The defaults, with recordings under the data directory.
    pub fn new(data: &Path) -> RecordingConfig {
        RecordingConfig {
            enabled: true,
            dir: data.join("recordings"),
            retention: Self::DEFAULT_RETENTION,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }

    /// Applies defaults and checks every value; errors name the flag.
    pub fn validate(s: &RecordingSettings, data: &Path) -> anyhow::Result<RecordingConfig> {
        let mut config = RecordingConfig::new(data);
        config.enabled = s.recording != Some(RecordingMode::Off);
        if let Some(dir) = &s.recordings_dir {
            config.dir = dir.clone();
        }
        if let Some(text) = &s.recording_retention {
            let retention = humantime::parse_duration(text).with_context(|| {
                format!("--recording-retention {text:?}: expected a duration such as `7d` or `12h`")
            })?;
            if retention.is_zero() {
                bail!("--recording-retention must be longer than zero (use --recording off)");
            }
            config.retention = retention;
        }
        if let Some(text) = &s.recording_max_bytes {
            config.max_bytes = if text.trim() == "0" {
                0
            } else {
                scenarios::units::parse_memory(text).map_err(|e| {
                    anyhow::anyhow!(
                        "--recording-max-bytes {text:?}: {e}; write sizes like `16Mi`, or 0 for off"
                    )
                })?
            };
        }
        if config.max_bytes == 0 {
            config.enabled = false;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(s: RecordingSettings) -> anyhow::Result<RecordingConfig> {
        RecordingConfig::validate(&s, Path::new("/data"))
    }

    #[test]
    fn defaults_and_values() {
        let c = validate(RecordingSettings::default()).unwrap();
        assert_eq!(c, RecordingConfig::new(Path::new("/data")));
        assert!(c.enabled);
        assert_eq!(c.dir, PathBuf::from("/data/recordings"));
        assert_eq!(c.retention, Duration::from_secs(604_800));
        assert_eq!(c.max_bytes, 16 << 20);
        let c = validate(RecordingSettings {
            recordings_dir: Some("/var/casts".into()),
            recording_retention: Some("12h".into()),
            recording_max_bytes: Some("1Mi".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.dir, PathBuf::from("/var/casts"));
        assert_eq!(c.retention, Duration::from_secs(12 * 3600));
        assert_eq!(c.max_bytes, 1 << 20);
    }

    #[test]
    fn off_and_zero_turn_it_off() {
        let off = validate(RecordingSettings {
            recording: Some(RecordingMode::Off),
            ..Default::default()
        });
        assert!(!off.unwrap().enabled);
        let zero = validate(RecordingSettings {
            recording_max_bytes: Some("0".into()),
            ..Default::default()
        });
        assert!(!zero.unwrap().enabled);
    }

    #[test]
    fn bad_values_name_the_flag() {
        let cases = [
            (
                RecordingSettings {
                    recording_retention: Some("forever".into()),
                    ..Default::default()
                },
                "--recording-retention",
            ),
            (
                RecordingSettings {
                    recording_retention: Some("0s".into()),
                    ..Default::default()
                },
                "--recording-retention must be longer",
            ),
            (
                RecordingSettings {
                    recording_max_bytes: Some("lots".into()),
                    ..Default::default()
                },
                "--recording-max-bytes \"lots\"",
            ),
        ];
        for (settings, expected) in cases {
            let err = format!("{:#}", validate(settings).unwrap_err());
            assert!(err.contains(expected), "{err}");
        }
    }
}
