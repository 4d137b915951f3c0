//! Quiz steps: multiple-choice questions judged on the server, without a node.
//!
//! The server's check endpoint and `playlab test` both judge answers here, so a quiz
//! passes in the self-test exactly when it would pass for a learner.

use std::collections::BTreeSet;
use std::time::Duration;

use scenarios::QuizItem;

use super::outcome::CheckOutcome;
use super::sentences::Sentence;

/// Judges `answers` (for each question, the indices the learner chose) against the
/// quiz. A question is right when exactly its correct choices are chosen, in any
/// order; a missing answer is wrong. A wrong answer's message is the item's
/// `explain`, or a generic hint in the lesson's `language`; a question has no output.
pub fn judge_quiz(items: &[QuizItem], answers: &[Vec<usize>], language: &str) -> Vec<CheckOutcome> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let chosen: BTreeSet<usize> = answers.get(i).into_iter().flatten().copied().collect();
            let correct: BTreeSet<usize> = item.answer.iter().copied().collect();
            let passed = chosen == correct;
            let message = if passed {
                String::new()
            } else {
                item.explain
                    .clone()
                    .unwrap_or_else(|| Sentence::WrongAnswer { question: i }.in_language(language))
            };
            CheckOutcome {
                passed,
                message,
                output: String::new(),
                timed_out: false,
                attempts: 1,
                duration: Duration::ZERO,
            }
        })
        .collect()
}

/// The answers an author declared correct: what `playlab test` submits after "solve".
pub fn correct_answers(items: &[QuizItem]) -> Vec<Vec<usize>> {
    items.iter().map(|item| item.answer.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(answer: &[usize], explain: Option<&str>) -> QuizItem {
        QuizItem {
            question: "q".into(),
            choices: vec!["a".into(), "b".into(), "c".into()],
            answer: answer.to_vec(),
            explain: explain.map(Into::into),
        }
    }

    #[test]
    fn judges_exact_sets_in_any_order() {
        let items = [item(&[0, 2], Some("A and C.")), item(&[1], None)];
        let cases: &[(&[&[usize]], [bool; 2])] = &[
            (&[&[2, 0], &[1]], [true, true]),
            (&[&[0], &[1]], [false, true]),
            (&[&[0, 1, 2], &[1, 1]], [false, true]),
            (&[&[0, 2]], [true, false]),
            (&[], [false, false]),
        ];
        for (answers, want) in cases {
            let answers: Vec<Vec<usize>> = answers.iter().map(|a| a.to_vec()).collect();
            let got: Vec<bool> = judge_quiz(&items, &answers, "en")
                .iter()
                .map(|r| r.passed)
                .collect();
            assert_eq!(got, want, "answers {answers:?}");
        }
        let wrong = judge_quiz(&items, &[], "en");
        assert_eq!(wrong[0].message, "A and C.");
        assert_eq!(
            wrong[1].message,
            "Question 2 is not answered correctly yet."
        );
    }
}
