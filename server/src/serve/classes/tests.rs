//! The class book on a real SQLite store and the fixture lesson, and the roster's
//! rules on made-up facts. (The roster of real sessions under a paused clock is in
//! the session manager's tests.)

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::roster::{self, LessonSteps, MemberFacts, SessionFacts, Stuck};
use super::*;
use crate::catalog::Catalog;
use crate::serve::language::Wanted;
use crate::serve::sessions::SessionProgress;
use crate::serve::status::Status;
use crate::serve::store::Attempt;

fn book(join_attempts: u32) -> (ClassBook, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("playlab.db")).unwrap());
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content");
    let (catalog, problems) =
        Catalog::load(&content, &scenarios::ImageMap::builtin(false)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let catalog = Arc::new(SharedCatalog::new(catalog));
    (ClassBook::new(store, catalog, join_attempts), dir)
}

fn new_class(name: &str) -> NewClass {
    NewClass {
        name: name.into(),
        lessons: vec!["demo".into()],
        starts_at: None,
        ends_at: None,
        capacity: None,
    }
}

const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[test]
fn a_class_is_checked_and_gets_a_code_of_its_own() {
    let (book, _dir) = book(100);
    let bad = |new: NewClass| book.create(new).unwrap_err().to_string();
    assert_eq!(bad(new_class("  ")), "the class name is empty");
    let unknown = NewClass {
        lessons: vec!["demo".into(), "nope".into()],
        ..new_class("A")
    };
    assert!(matches!(book.create(unknown), Err(ClassError::UnknownLesson(l)) if l == "nope"));
    let backwards = NewClass {
        starts_at: Some("2030-01-01T10:00:00Z".into()),
        ends_at: Some("2030-01-01T09:00:00Z".into()),
        ..new_class("A")
    };
    assert_eq!(bad(backwards), "ends_at must be after starts_at");
    let sloppy = NewClass {
        starts_at: Some("tomorrow".into()),
        ..new_class("A")
    };
    assert!(bad(sloppy).contains("RFC 3339"));
    let empty = NewClass {
        capacity: Some(0),
        ..new_class("A")
    };
    assert!(bad(empty).contains("capacity"));

    let a = book.create(new_class(" Monday ")).unwrap();
    let b = book.create(new_class("Tuesday")).unwrap();
    assert_eq!(a.name, "Monday");
    assert_ne!(a.code, b.code);
    assert_eq!(a.code.len(), CODE_LEN + 1, "two groups of five: {}", a.code);
    assert_eq!(book.list().unwrap().len(), 2);
}

#[test]
fn joining_checks_the_name_the_code_the_capacity_and_one_class_per_learner() {
    let (book, _dir) = book(100);
    let a = book
        .create(NewClass {
            capacity: Some(2),
            ..new_class("A")
        })
        .unwrap();
    let b = book.create(new_class("B")).unwrap();
    for (name, message) in [
        ("   ", "the display name is empty"),
        (
            "a\u{7}b",
            "the display name contains a control character (a line break, a tab, ...)",
        ),
        (
            &"x".repeat(MAX_NAME + 1),
            "the display name is longer than 40 characters",
        ),
    ] {
        let e = book
            .join(HERE, &a.code, "l1", name, &Wanted::default())
            .unwrap_err();
        assert!(matches!(e, ClassError::BadName(_)));
        assert_eq!(e.to_string(), message);
    }
    assert!(matches!(
        book.join(HERE, "wrong-code", "l1", "Ada", &Wanted::default()),
        Err(ClassError::WrongCode)
    ));
    // The code as shown, upper-case, spaced: all the same.
    let typed = format!(" {} ", a.code.to_uppercase().replace('-', " "));
    let mine = book
        .join(HERE, &typed, "l1", " Ada ", &Wanted::default())
        .unwrap();
    assert_eq!(
        (mine.name.as_str(), mine.display_name.as_str()),
        ("A", "Ada")
    );
    assert_eq!(mine.lessons[0].id, "demo");
    book.join(HERE, &a.code, "l2", "Bob", &Wanted::default())
        .unwrap();
    assert!(matches!(
        book.join(HERE, &a.code, "l3", "Cy", &Wanted::default()),
        Err(ClassError::Full { capacity: 2, .. })
    ));
    // Renaming oneself does not need a free place.
    assert_eq!(
        book.join(HERE, &a.code, "l1", "Ada L.", &Wanted::default())
            .unwrap()
            .display_name,
        "Ada L."
    );
    assert!(matches!(
        book.join(HERE, &b.code, "l1", "Ada", &Wanted::default()),
        Err(ClassError::InAnotherClass(name)) if name == "A"
    ));
    assert_eq!(book.get(&a.id).unwrap().members, 2);

    // Members start their class's lessons only; others are in no class.
    assert_eq!(
        book.class_for_session("l1", "demo").unwrap(),
        Some(a.id.clone())
    );
    assert!(matches!(
        book.class_for_session("l1", "other"),
        Err(ClassError::LessonNotInClass { .. })
    ));
    assert_eq!(book.class_for_session("l9", "other").unwrap(), None);

    book.delete(&a.id).unwrap();
    assert!(matches!(
        book.mine("l1", &Wanted::default()),
        Err(ClassError::NotAMember)
    ));
    assert!(matches!(
        book.join(HERE, &a.code, "l1", "Ada", &Wanted::default()),
        Err(ClassError::WrongCode)
    ));
}

#[test]
fn an_ended_class_takes_nobody_in() {
    let (book, _dir) = book(100);
    let over = book
        .create(NewClass {
            ends_at: Some("2020-01-01T17:00:00Z".into()),
            ..new_class("Last year")
        })
        .unwrap();
    assert!(matches!(
        book.join(HERE, &over.code, "l1", "Ada", &Wanted::default()),
        Err(ClassError::Over(_))
    ));
}

#[test]
fn guessing_codes_is_refused_even_with_the_right_one() {
    let (book, _dir) = book(3);
    let a = book.create(new_class("A")).unwrap();
    for guess in ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"] {
        assert!(matches!(
            book.join(HERE, guess, "l1", "Eve", &Wanted::default()),
            Err(ClassError::WrongCode)
        ));
    }
    assert!(matches!(
        book.join(HERE, &a.code, "l1", "Eve", &Wanted::default()),
        Err(ClassError::TooManyAttempts(_))
    ));
    let elsewhere: IpAddr = "192.0.2.7".parse().unwrap();
    book.join(elsewhere, &a.code, "l2", "Ann", &Wanted::default())
        .unwrap();
}

#[test]
fn a_broadcast_is_kept_and_sent_to_the_class_stream() {
    let (book, _dir) = book(100);
    let a = book.create(new_class("A")).unwrap();
    let (_, mut rx) = book.stream(&a.id).subscribe();
    assert!(matches!(
        book.broadcast(&a.id, &"x".repeat(MAX_MESSAGE + 1)),
        Err(ClassError::BadMessage(_))
    ));
    assert!(matches!(
        book.broadcast("nope", "hi"),
        Err(ClassError::NotFound(_))
    ));
    book.broadcast(&a.id, " Lunch at 12 ").unwrap();
    let event = serde_json::to_value(rx.try_recv().unwrap()).unwrap();
    assert_eq!(event["type"], "broadcast");
    assert_eq!(event["message"], "Lunch at 12");
    assert_eq!(
        book.get(&a.id).unwrap().message.unwrap().message,
        "Lunch at 12"
    );
}

// The roster's rules, on made-up facts.

const T0: Duration = Duration::from_secs(1_800_000_000);

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + T0 + Duration::from_secs(seconds)
}

fn lessons() -> Vec<LessonSteps> {
    vec![LessonSteps {
        id: "demo".into(),
        title: "Demo".into(),
        steps: vec!["One".into(), "Two".into(), "Three".into()],
    }]
}

fn attempt(step: usize, seconds: u64, passed: bool) -> Attempt {
    Attempt {
        step,
        at: at(seconds),
        passed,
        message: (!passed).then(|| format!("fail at {seconds}")),
    }
}

fn member(name: &str, step: usize, completed: bool, attempts: Vec<Attempt>) -> MemberFacts {
    MemberFacts {
        name: name.into(),
        joined_at: at(0),
        session: Some(SessionFacts {
            id: format!("s-{name}"),
            lesson: "demo".into(),
            progress: SessionProgress {
                status: Status::Ready,
                step,
                completed,
                created_at: at(0),
                last_activity: at(100),
            },
            connected: name != "idle",
            attempts,
        }),
    }
}

#[test]
fn the_roster_flags_the_stuck_and_counts_each_step() {
    let stuck_after = Duration::from_secs(600);
    let now = at(1000);
    let members = vec![
        // Passed step 0 at 900: 100 s on step 1, two fails: fine.
        member(
            "ann",
            1,
            false,
            vec![
                attempt(0, 800, false),
                attempt(0, 900, true),
                attempt(1, 950, false),
                attempt(1, 960, false),
            ],
        ),
        // Three fails in a row on step 1: stuck (failing), however recent.
        member(
            "bob",
            1,
            false,
            vec![
                attempt(0, 900, true),
                attempt(1, 910, false),
                attempt(1, 920, false),
                attempt(1, 930, false),
            ],
        ),
        // Nothing passed since the start 1000 s ago: stuck (no progress).
        member("idle", 0, false, vec![]),
        // Done: never stuck.
        member(
            "cy",
            3,
            true,
            vec![
                attempt(0, 10, true),
                attempt(1, 20, true),
                attempt(2, 30, true),
            ],
        ),
        MemberFacts {
            name: "dee".into(),
            joined_at: at(5),
            session: None,
        },
    ];
    let roster = roster::compute(("c1", "Class"), members, &lessons(), now, stuck_after);
    let by = |name: &str| roster.learners.iter().find(|r| r.name == name).unwrap();

    let ann = by("ann");
    assert_eq!(
        (ann.step, ann.step_title.as_deref()),
        (Some(1), Some("Two"))
    );
    assert_eq!((ann.attempts, ann.failed_in_a_row), (2, 2));
    assert_eq!(ann.last_failure.as_deref(), Some("fail at 960"));
    assert_eq!(ann.time_on_step_seconds, Some(100));
    assert_eq!(ann.stuck, None);
    assert!(ann.connected);

    assert_eq!(by("bob").stuck, Some(Stuck::FailingChecks));
    let idle = by("idle");
    assert_eq!(
        (idle.stuck, idle.time_on_step_seconds),
        (Some(Stuck::NoProgress), Some(1000))
    );
    assert!(!idle.connected);
    let cy = by("cy");
    assert!(cy.completed && cy.stuck.is_none() && cy.step_title.is_none());
    assert_eq!(cy.time_on_step_seconds, None);
    let dee = by("dee");
    assert_eq!((dee.session.clone(), dee.status), (None, None));

    assert_eq!(roster.not_started, 1);
    let summary = &roster.summary[0];
    let counts: Vec<_> = summary
        .steps
        .iter()
        .map(|s| (s.learners, s.stuck))
        .collect();
    assert_eq!(counts, [(1, 1), (2, 1), (0, 0)]);
    assert_eq!(summary.completed, 1);

    // Just under the limit is not stuck; a session that is not ready is not either.
    let fresh = roster::compute(
        ("c1", "Class"),
        vec![member("idle", 0, false, vec![])],
        &lessons(),
        at(599),
        stuck_after,
    );
    assert_eq!(fresh.learners[0].stuck, None);
    let mut starting = member("idle", 0, false, vec![]);
    starting.session.as_mut().unwrap().progress.status = Status::Starting;
    let roster2 = roster::compute(
        ("c1", "Class"),
        vec![starting],
        &lessons(),
        now,
        stuck_after,
    );
    assert_eq!(roster2.learners[0].stuck, None);
}

#[test]
fn the_csv_has_a_header_row_and_the_json_columns() {
    let lessons = lessons();
    let empty = roster::compute(
        ("c1", "Class"),
        vec![],
        &lessons,
        at(0),
        Duration::from_secs(60),
    );
    let csv = String::from_utf8(roster::to_csv(&empty).unwrap()).unwrap();
    assert_eq!(csv.trim_end(), roster::CSV_HEADER.join(","));

    let members = vec![member(
        "ann, \"the first\"",
        1,
        false,
        vec![attempt(1, 5, false)],
    )];
    let roster = roster::compute(
        ("c1", "Class"),
        members,
        &lessons,
        at(60),
        Duration::from_secs(600),
    );
    let csv = String::from_utf8(roster::to_csv(&roster).unwrap()).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let json = serde_json::to_value(&roster.learners[0]).unwrap();
    let keys: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
    let mut sorted_header = header.clone();
    sorted_header.sort();
    let mut sorted_keys = keys;
    sorted_keys.sort();
    assert_eq!(sorted_header, sorted_keys, "the CSV has the JSON's columns");
    let record = reader.records().next().unwrap().unwrap();
    let field = |name: &str| record[header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(field("name"), "ann, \"the first\"");
    assert_eq!(field("status"), "ready");
    assert_eq!(field("last_failure"), "fail at 5");
    assert_eq!(field("stuck"), "");
}
