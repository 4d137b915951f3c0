//! The upgrade-policy lesson's `upgrade-judge` script against recorded plans.
//!
//! Each folder of `content/upgrade-policy/tests/judge/` holds a `plan.txt` and the
//! `expected.txt` the judge must print for it (its stdout, then `exit N`), judged
//! from v1.16.15 against the lesson's own releases list, as the lesson's check runs it.
//! The lesson's self-test only proves "no plan fails, the solution passes"; these cases
//! pin down every rule and its message.

use std::path::Path;
use std::process::Command;

#[test]
fn upgrade_judge_says_exactly_what_is_wrong_with_each_plan() {
    let lesson = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/upgrade-policy");
    let cases = lesson.join("tests/judge");
    let mut names: Vec<_> = std::fs::read_dir(&cases)
        .expect("judge cases")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 6,
        "too few judge cases in {}",
        cases.display()
    );
    let mut failures = Vec::new();
    for name in &names {
        let out = Command::new("bash")
            .current_dir(&lesson)
            .args([
                "assets/upgrade-judge",
                &format!("tests/judge/{name}/plan.txt"),
            ])
            .args(["--from", "1.16.15", "--releases", "assets/releases.txt"])
            .output()
            .expect("bash must be installed to run the lesson's scripts");
        let got = format!(
            "{}exit {}\n",
            String::from_utf8_lossy(&out.stdout),
            out.status.code().map_or("signal".into(), |c| c.to_string())
        );
        let want =
            std::fs::read_to_string(cases.join(name).join("expected.txt")).expect("expected.txt");
        if got != want {
            failures.push(format!("{name}:\n--- expected\n{want}--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
