//! The runner's own sentences to a learner, for a check that says nothing of its own
//! and a wrong quiz answer with no explanation, in the language of the lesson being
//! judged. Everything else a learner reads comes from the lesson, translated by its
//! author (see `scenarios::translation`); a WASM module's or the sandbox's words are
//! the module author's, passed on as they are.

use std::time::Duration;

/// A sentence the runner says itself.
pub(crate) enum Sentence {
    TimedOut(Duration),
    DidNotPass { exit_code: Option<i64> },
    WrongAnswer { question: usize },
}

impl Sentence {
    /// The sentence in `language` (a BCP 47 tag): Chinese for `zh` and its regional
    /// tags, English for every other language.
    pub(crate) fn in_language(&self, language: &str) -> String {
        let chinese = language.split('-').next() == Some("zh");
        match (self, chinese) {
            (Sentence::TimedOut(after), false) => format!("timed out after {}", seconds(*after)),
            (Sentence::TimedOut(after), true) => format!("{} 后超时", seconds(*after)),
            (
                Sentence::DidNotPass {
                    exit_code: Some(code),
                },
                false,
            ) => {
                format!("the check did not pass (exit code {code})")
            }
            (
                Sentence::DidNotPass {
                    exit_code: Some(code),
                },
                true,
            ) => {
                format!("检查未通过（退出码 {code}）")
            }
            (Sentence::DidNotPass { exit_code: None }, false) => "the check did not pass".into(),
            (Sentence::DidNotPass { exit_code: None }, true) => "检查未通过".into(),
            (Sentence::WrongAnswer { question }, false) => {
                format!("Question {} is not answered correctly yet.", question + 1)
            }
            (Sentence::WrongAnswer { question }, true) => {
                format!("第 {} 题还没有答对。", question + 1)
            }
        }
    }
}

/// `10s`, `1.5s`: durations as authors write them.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_follow_the_lessons_language() {
        let timeout = Sentence::TimedOut(Duration::from_millis(1500));
        assert_eq!(timeout.in_language("en"), "timed out after 1.5s");
        let whole = Sentence::TimedOut(Duration::from_secs(10));
        assert_eq!(whole.in_language("en"), "timed out after 10s");
        assert_eq!(timeout.in_language("zh"), "1.5s 后超时");
        assert_eq!(timeout.in_language("zh-TW"), "1.5s 后超时");
        // A language the runner does not speak gets English, never nothing.
        let exit = Sentence::DidNotPass { exit_code: Some(1) };
        assert_eq!(
            exit.in_language("fr"),
            "the check did not pass (exit code 1)"
        );
        assert_eq!(exit.in_language("zh"), "检查未通过（退出码 1）");
        let wrong = Sentence::WrongAnswer { question: 0 };
        assert_eq!(wrong.in_language("zh"), "第 1 题还没有答对。");
    }
}
