//! Parsing of the small value languages inside lesson files: durations (`30m`,
//! `1h 30m`), memory sizes (`512Mi`), file modes (`0755`) and node names (DNS labels).
//! Each parser returns a message fit for a diagnostic.

use std::time::Duration;

/// A human duration such as `10s`, `30m`, `1h 30m` or `48h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("`{text}` is not a duration ({e})"))
}

/// A memory size: a whole number with an optional binary (`Ki`, `Mi`, `Gi`) or decimal
/// (`k`, `M`, `G`) suffix, as Kubernetes writes them. A bare number is bytes.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, suffix) = t.split_at(digits_end);
    let unit: u64 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => {
            return Err(format!(
                "`{text}` is not a memory size (unknown unit `{suffix}`)"
            ));
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a memory size"))?;
    match n.checked_mul(unit) {
        Some(0) => Err(format!("`{text}` is no memory at all")),
        Some(bytes) => Ok(bytes),
        None => Err(format!("`{text}` is too large a memory size")),
    }
}

/// An octal file mode such as `0755`, `755` or `0o644`.
pub fn parse_mode(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let digits = t.strip_prefix("0o").unwrap_or(t);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("`{text}` is not an octal file mode like `0644`"))
}

/// Whether `name` is an RFC 1123 DNS label (what a hostname part may be): 1 to 63
/// lowercase letters, digits and `-`, not starting or ending with `-`.
pub fn is_dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Whether `tag` is a BCP 47 language tag in its canonical spelling (`en`, `zh`,
/// `pt-BR`, `zh-Hant`; not `zh_CN` or `pt-br`): what a lesson's `language:` and the
/// `LANG` of its translations' file names may be. One spelling per language keeps
/// `step1.zh-TW.md` and `step1.zh_tw.md` from being two translations.
pub fn is_language_tag(tag: &str) -> bool {
    icu_locid::LanguageIdentifier::try_from_bytes(tag.as_bytes())
        .is_ok_and(|id| id.to_string() == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("512Mi"), Ok(512 << 20));
        assert_eq!(parse_memory("1Gi"), Ok(1 << 30));
        assert_eq!(parse_memory("1000"), Ok(1000));
        assert!(parse_memory("1.5Gi").is_err());
        assert!(parse_memory("Gi").is_err());
        assert!(parse_memory("0Mi").is_err());
        assert!(parse_memory("99999999999999Gi").is_err());
    }

    #[test]
    fn durations_and_modes() {
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_mode("0755"), Ok(0o755));
        assert!(parse_mode("0788").is_err());
    }

    #[test]
    fn language_tags() {
        for good in ["en", "zh", "pt-BR", "zh-Hant"] {
            assert!(is_language_tag(good), "{good}");
        }
        // The tag is part of file names (`step1.zh.md`): nothing else fits.
        for bad in ["", "e", "zh_CN", "pt-br", "../zh", "zh.md"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn dns_labels() {
        for good in ["controlplane", "node01", "a", "web-1"] {
            assert!(is_dns_label(good), "{good}");
        }
        // Node names become hostnames and container and folder names: nothing that
        // could climb out of a folder or split a name.
        for bad in [
            "",
            "-a",
            "a-",
            "Node01",
            "a_b",
            "a.b",
            "../x",
            &"a".repeat(64),
        ] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}
