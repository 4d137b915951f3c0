//! The session manager on the fake backend, a real SQLite store in a temporary folder
//! and tokio's paused clock: the lifecycle, the pool, deadlines, re-adoption and
//! checks, in milliseconds and without Docker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use runner::testing::{FakeBackend, exit};
use runner::{ProgressSender, SessionId};
use scenarios::ImageMap;
use tempfile::TempDir;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::engine::{LOST_EVERY, NODES_BACK, POLL};
use super::*;
use crate::catalog::Catalog;
use crate::serve::language::Wanted;
use crate::serve::recordings::RecordingConfig;
use crate::serve::store::SessionRecord;

const LESSON: &str = "\
title: Unit test lesson
description: One node, a file to create, then a step with a setup script.
environment:
  nodes:
    - name: node01
      image: debian:bookworm-slim
steps:
  - title: Make a file
    text: step.md
    check:
      - node: node01
        run: test -f /tmp/done
        fail: /tmp/done does not exist yet
    solve:
      - node: node01
        run: touch /tmp/done
  - title: Second step
    text: step.md
    setup:
      - node: node01
        run: echo second-step-setup
    check:
      - node: node01
        run: test -f /tmp/two
    solve:
      - node: node01
        run: touch /tmp/two
";

/// A session manager on a fake backend, with the lesson `demo` and a database.
struct Lab {
    manager: Arc<SessionManager>,
    backend: Arc<FakeBackend>,
    store: Arc<Store>,
    recorder: Arc<Recorder>,
    dir: TempDir,
}

fn lab(limits: Limits) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let lesson = dir.path().join("content/demo");
    std::fs::create_dir_all(&lesson).unwrap();
    std::fs::write(lesson.join("lesson.yaml"), LESSON).unwrap();
    std::fs::write(lesson.join("step.md"), "Do it.\n").unwrap();
    let catalog = load_content(&dir);
    let store = Arc::new(Store::open(&dir.path().join("playlab.db")).unwrap());
    let backend = FakeBackend::new();
    let metrics = Arc::new(Metrics::default());
    let recorder = Recorder::new(RecordingConfig::new(dir.path()), metrics.clone());
    let manager = SessionManager::with_clock(
        backend.clone(),
        store.clone(),
        Arc::new(SharedCatalog::new(catalog)),
        limits,
        metrics,
        recorder.clone(),
        Clock::tokio(),
    )
    .unwrap();
    Lab {
        manager,
        backend,
        store,
        recorder,
        dir,
    }
}

/// The lessons under `dir/content`.
fn load_content(dir: &TempDir) -> Catalog {
    let (catalog, problems) = Catalog::load(&dir.path().join("content"), &ImageMap::builtin(false))
        .expect("the content loads");
    assert!(problems.is_empty(), "{problems:?}");
    catalog
}

/// Lets spawned tasks run until `done` holds (tokio's paused clock makes the short
/// sleeps free).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never happened: {what}");
}

impl Lab {
    async fn ready_session(&self, learner: &str) -> Arc<Session> {
        let (session, created) = self.manager.create(learner, "demo", None).unwrap();
        assert!(created);
        until("the session is ready", || session.status() == Status::Ready).await;
        session
    }

    /// The content as an operator's reload reads it again: every lesson is new.
    async fn reload(&self) {
        self.manager.shared.catalog.replace(load_content(&self.dir));
        self.manager.content_reloaded().await;
    }

    fn metric(&self, line: &str) -> bool {
        let metrics = self.manager.shared.metrics.encode();
        metrics.lines().any(|l| l == line)
    }
}

/// The events sent so far, as their JSON `type`s and bodies.
fn drain(rx: &mut broadcast::Receiver<Event>) -> Vec<serde_json::Value> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn capacity_is_enforced_and_a_learner_has_one_live_session_per_lesson() {
    let lab = lab(Limits {
        max_sessions: 1,
        ..Limits::default()
    });
    let first = lab.ready_session("ann").await;
    let (again, created) = lab.manager.create("ann", "demo", None).unwrap();
    assert!(!created, "the learner's live session is returned");
    assert_eq!(again.id, first.id);
    assert!(matches!(
        lab.manager.create("bob", "demo", None),
        Err(SessionError::AtCapacity(1))
    ));
    assert!(matches!(
        lab.manager.create("bob", "nope", None),
        Err(SessionError::LessonNotFound(_))
    ));
    lab.manager.end(&first, EndReason::Deleted).await;
    assert!(
        lab.manager.create("bob", "demo", None).unwrap().1,
        "room again"
    );
    let record = lab.store.session(&first.id).unwrap().unwrap();
    assert_eq!(record.end_reason, Some(EndReason::Deleted));
    assert_eq!(lab.backend.destroys(), vec![first.id.clone()]);
}

/// A class about to start reserves environments beyond `--warm-pool`, within
/// `--max-sessions`; when the reservation ends, the surplus is destroyed.
#[tokio::test(start_paused = true)]
async fn a_reservation_grows_the_pool_within_capacity_and_its_end_shrinks_it() {
    let lab = lab(Limits {
        warm_pool: 1,
        max_sessions: 3,
        ..Limits::default()
    });
    lab.manager.refill_pool();
    until("the pool fills", || lab.metric("playlab_warm_pool_ready 1")).await;
    lab.manager
        .reserve_pool([("demo".to_owned(), 5)].into())
        .await;
    until("the reservation, capped by --max-sessions", || {
        lab.metric("playlab_warm_pool_ready 3")
    })
    .await;
    assert_eq!(lab.backend.starts().len(), 3, "no more than --max-sessions");
    lab.manager.reserve_pool(HashMap::new()).await;
    until("back to --warm-pool", || {
        lab.metric("playlab_warm_pool_ready 1")
    })
    .await;
    assert_eq!(lab.backend.destroys().len(), 2, "the surplus is destroyed");
    let (session, _) = lab.manager.create("ann", "demo", None).unwrap();
    assert_eq!(
        session.status(),
        Status::Ready,
        "the one kept is handed out"
    );
}

#[tokio::test(start_paused = true)]
async fn the_pool_hands_out_a_ready_environment_and_refills() {
    let lab = lab(Limits {
        warm_pool: 1,
        ..Limits::default()
    });
    lab.manager.refill_pool();
    until("the pool fills", || lab.metric("playlab_warm_pool_ready 1")).await;
    let pooled = lab.backend.starts();
    assert_eq!(pooled.len(), 1);
    assert_eq!(
        lab.backend.attaches(),
        vec![(pooled[0].clone(), "node01".into())]
    );

    let (session, created) = lab.manager.create("ann", "demo", None).unwrap();
    assert!(created);
    assert_eq!(session.status(), Status::Ready, "ready at once");
    assert_eq!(
        session.id, pooled[0],
        "the session is the pooled environment"
    );
    until("the pool refills", || lab.backend.starts().len() == 2).await;
    until("the pool is ready", || {
        lab.metric("playlab_warm_pool_ready 1")
    })
    .await;

    lab.manager.shutdown(false).await;
    assert!(
        lab.backend.has_environment(&session.id),
        "kept for re-adoption"
    );
    let environments = lab.backend.environments().await.unwrap();
    assert_eq!(
        environments,
        vec![session.id.clone()],
        "the pool is drained"
    );
}

#[tokio::test(start_paused = true)]
async fn a_session_is_warned_then_expires() {
    let lab = lab(Limits {
        session_ttl: Duration::from_secs(60),
        expiry_warning: Duration::from_secs(20),
        ..Limits::default()
    });
    let session = lab.ready_session("ann").await;
    let (_, mut rx) = session.events.subscribe();
    tokio::time::advance(Duration::from_secs(30)).await;
    lab.manager.tick().await;
    assert!(drain(&mut rx).is_empty(), "no warning 30 s before expiry");
    tokio::time::advance(Duration::from_secs(15)).await;
    lab.manager.tick().await;
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "expiry_warning");
    assert!(events[0]["seconds_left"].as_u64().unwrap() <= 15);
    lab.manager.tick().await;
    assert!(drain(&mut rx).is_empty(), "warned once");

    tokio::time::advance(Duration::from_secs(15)).await;
    lab.manager.tick().await;
    assert_eq!(session.status(), Status::Ended);
    assert_eq!(drain(&mut rx).last().unwrap()["reason"], "expired");
    assert!(!lab.backend.has_environment(&session.id));
    assert_eq!(lab.manager.live_count(), 0);
    let view = lab
        .manager
        .ended_view(session.id.as_str(), Some("ann"), false);
    assert_eq!(view.unwrap().end_reason, Some(EndReason::Expired));
}

#[tokio::test(start_paused = true)]
async fn an_idle_session_ends_and_activity_keeps_it() {
    let lab = lab(Limits {
        idle_timeout: Duration::from_secs(600),
        ..Limits::default()
    });
    let session = lab.ready_session("ann").await;
    tokio::time::advance(Duration::from_secs(500)).await;
    // A keystroke is activity (and a command line goes to the transcript).
    let mut hook = lab.manager.input_hook(&session, "node01");
    hook(b"ls -l\r");
    tokio::time::advance(Duration::from_secs(500)).await;
    lab.manager.tick().await;
    assert_eq!(session.status(), Status::Ready);
    let transcript = lab.store.transcript(&session.id).unwrap();
    assert_eq!(transcript.entries().next().unwrap().line, "ls -l");

    tokio::time::advance(Duration::from_secs(100)).await;
    lab.manager.tick().await;
    assert_eq!(session.status(), Status::Ended);
    let record = lab.store.session(&session.id).unwrap().unwrap();
    assert_eq!(record.end_reason, Some(EndReason::Idle));
}

/// The check of step 1 passes once `/tmp/done` "exists"; step 2's never does.
fn files_appear(backend: &FakeBackend) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let seen = done.clone();
    backend.on_exec(move |_, script| {
        let passes = script.contains("/tmp/done") && seen.load(Ordering::SeqCst);
        exit(if passes || script.contains("second-step-setup") {
            0
        } else {
            1
        })
    });
    done
}

/// Every check verdict lands in the recordings of the session's open shells, as a
/// marker a replay shows; the session core does not touch a file for it.
#[tokio::test(start_paused = true)]
async fn check_verdicts_are_markers_in_the_recording() {
    let lab = lab(Limits::default());
    let done = files_appear(&lab.backend);
    let session = lab.ready_session("ann").await;
    let size = runner::TermSize::default();
    let viewer = session
        .terminals
        .attach("node01", size, crate::serve::terminals::Role::Owner)
        .await
        .unwrap();
    assert!(
        !lab.manager
            .check(&session, None, &Wanted::default())
            .await
            .unwrap()
            .passed
    );
    done.store(true, Ordering::SeqCst);
    assert!(
        lab.manager
            .check(&session, None, &Wanted::default())
            .await
            .unwrap()
            .passed
    );
    drop(viewer);
    session.terminals.close_all().await;
    lab.recorder.shutdown().await;
    let cast = lab
        .dir
        .path()
        .join(format!("recordings/{}/node01.1.cast", session.id));
    let text = std::fs::read_to_string(&cast).unwrap();
    let markers: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e[1] == "m")
        .map(|e| e[2].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        markers,
        [
            "check step 1 \"Make a file\": fail: /tmp/done does not exist yet",
            "check step 1 \"Make a file\": pass"
        ],
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_check_records_attempts_and_a_pass_moves_to_the_next_step() {
    let lab = lab(Limits::default());
    let done = files_appear(&lab.backend);
    let session = lab.ready_session("ann").await;
    let (_, mut rx) = session.events.subscribe();

    let failed = lab
        .manager
        .check(&session, None, &Wanted::default())
        .await
        .unwrap();
    assert!(!failed.passed);
    assert_eq!(failed.step, 0);
    let json = serde_json::to_value(&failed).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["step"], 0);
    let result = &json["results"][0];
    let mut keys: Vec<_> = result.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["message", "output", "passed"],
        "the API's result shape"
    );
    assert_eq!(result["message"], "/tmp/done does not exist yet");
    assert!(
        result["passed"] == false && result["output"] == "",
        "{json}"
    );

    done.store(true, Ordering::SeqCst);
    let passed = lab
        .manager
        .check(&session, None, &Wanted::default())
        .await
        .unwrap();
    assert!(passed.passed && !passed.completed);
    assert_eq!(passed.step, 1);
    assert_eq!(session.view().step, 1);
    assert_eq!(lab.store.attempts(&session.id).unwrap(), vec![(0, 2)]);
    assert_eq!(lab.store.session(&session.id).unwrap().unwrap().step, 1);
    let events = drain(&mut rx);
    assert_eq!(events[0]["type"], "step", "{events:?}");
    until("the second step's setup runs", || {
        let execs = lab.backend.execs();
        execs.iter().any(|e| e.script.contains("second-step-setup"))
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn completing_the_lesson_brings_the_expiry_forward_to_the_finish_grace() {
    let lab = lab(Limits {
        finish_grace: Duration::from_secs(120),
        expiry_warning: Duration::from_secs(60),
        extend_by: Duration::from_secs(300),
        ..Limits::default()
    });
    lab.backend.on_exec(|_, _| exit(0));
    let session = lab.ready_session("ann").await;
    let before = session.view().expires_at;
    assert!(
        !lab.manager
            .check(&session, None, &Wanted::default())
            .await
            .unwrap()
            .completed
    );
    let last = lab
        .manager
        .check(&session, None, &Wanted::default())
        .await
        .unwrap();
    assert!(last.completed);
    assert_eq!(last.step, 2);
    let cut = humantime::parse_rfc3339(&last.expires_at).unwrap();
    let grace = cut.duration_since(lab.manager.shared.clock.now()).unwrap();
    // Whole seconds in the API: at most one second short of the grace.
    assert!(
        grace > Duration::from_secs(110) && grace <= Duration::from_secs(120),
        "{grace:?}"
    );
    assert!(last.expires_at < before, "the hour-long TTL was cut");

    // Extending works on a completed session, as on any other.
    let extended = lab.manager.extend(&session).unwrap();
    assert!(extended.expires_at > last.expires_at);
    let (_, mut rx) = session.events.subscribe();
    tokio::time::advance(Duration::from_secs(200)).await;
    lab.manager.tick().await;
    assert_eq!(session.status(), Status::Ready, "the extension holds");
    tokio::time::advance(Duration::from_secs(230)).await;
    lab.manager.tick().await;
    let events = drain(&mut rx);
    assert_eq!(events.last().unwrap()["reason"], "finished", "{events:?}");
    assert!(
        lab.manager
            .ended_view(session.id.as_str(), None, true)
            .unwrap()
            .completed
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_gives_its_environment_back_and_is_forgotten_later() {
    let lab = lab(Limits::default());
    lab.backend.fail_starts(true);
    let (session, _) = lab.manager.create("ann", "demo", None).unwrap();
    let (_, mut rx) = session.events.subscribe();
    until("the start fails", || session.status() == Status::Failed).await;
    until("the environment goes", || {
        !lab.backend.destroys().is_empty()
    })
    .await;
    let view = session.view();
    assert!(view.error.unwrap().contains("told to fail"));
    assert_eq!(drain(&mut rx)[0]["status"], "failed");
    assert_eq!(lab.manager.live_count(), 0);
    assert!(matches!(
        lab.manager.check(&session, None, &Wanted::default()).await,
        Err(SessionError::NotReady(Status::Failed))
    ));

    tokio::time::advance(Duration::from_secs(9 * 60)).await;
    lab.manager.tick().await;
    assert_eq!(lab.manager.list(Some("ann")).len(), 1, "still visible");
    tokio::time::advance(Duration::from_secs(60)).await;
    lab.manager.tick().await;
    assert!(lab.manager.list(Some("ann")).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_session_deleted_while_starting_gives_its_environment_back() {
    let lab = lab(Limits::default());
    lab.backend.hold_starts();
    let (session, _) = lab.manager.create("ann", "demo", None).unwrap();
    until("the start began", || lab.backend.starts().len() == 1).await;
    lab.manager.end(&session, EndReason::Deleted).await;
    lab.backend.release_starts();
    until("the environment goes", || lab.backend.destroys().len() == 2).await;
    assert!(!lab.backend.has_environment(&session.id));
    assert_eq!(session.status(), Status::Ended);
}

/// A session the database holds from before a restart: created 20 minutes ago, due in
/// 10, on step 1. Its times are whole seconds, as the API shows them.
fn record(lab: &Lab, id: &str, lesson: &str, status: Status) -> SessionRecord {
    let since_epoch = lab.manager.shared.clock.now().duration_since(UNIX_EPOCH);
    let now = UNIX_EPOCH + Duration::from_secs(since_epoch.unwrap().as_secs());
    let record = SessionRecord {
        id: id.parse().unwrap(),
        learner: "ann".into(),
        lesson: lesson.into(),
        status,
        error: None,
        step: 1,
        created_at: now - Duration::from_secs(1200),
        expires_at: now + Duration::from_secs(600),
        completed_at: None,
        ended_at: None,
        end_reason: None,
        class: None,
    };
    lab.store.save_session(&record).unwrap();
    record
}

#[tokio::test(start_paused = true)]
async fn start_up_re_adopts_what_it_can_and_ends_the_rest_with_the_reason() {
    let lab = lab(Limits::default());
    let mut kept = record(&lab, "kept", "demo", Status::Ready);
    // Completed before the restart, in its finish grace.
    kept.step = 2;
    kept.completed_at = Some(kept.created_at + Duration::from_secs(1000));
    lab.store.save_session(&kept).unwrap();
    let gone = record(&lab, "gone", "demo", Status::Ready);
    let removed = record(&lab, "removed", "renamed", Status::Ready);
    let starting = record(&lab, "starting", "demo", Status::Starting);
    let orphan: SessionId = "orphan".parse().unwrap();
    for id in [&kept.id, &removed.id, &starting.id, &orphan] {
        lab.backend.add_environment(id, &["node01"]);
    }

    let orphans = lab.manager.adopt().await.unwrap();
    assert_eq!(orphans, vec![orphan]);
    let adopted = lab.manager.get("kept", Some("ann"), false).unwrap();
    assert_eq!(adopted.status(), Status::Ready);
    assert_eq!(adopted.record(), kept, "progress and times survive");
    let lesson = lab.manager.shared.catalog.get().get("demo").cloned();
    let before = SessionView::of_record(kept.clone(), lesson.as_deref());
    assert_eq!(
        serde_json::to_value(adopted.view()).unwrap(),
        serde_json::to_value(before).unwrap(),
        "the API shows the session as before the restart"
    );
    assert_eq!(lab.manager.live_count(), 1);
    let reason = |id: &SessionId| lab.store.session(id).unwrap().unwrap().end_reason;
    assert_eq!(reason(&gone.id), Some(EndReason::EnvironmentGone));
    assert!(lab.metric(
        r#"playlab_sessions_ended_total{reason="the environment was gone after a restart"} 1"#
    ));
    assert_eq!(reason(&removed.id), Some(EndReason::LessonGone));
    assert_eq!(
        reason(&starting.id).unwrap().to_string(),
        "the server restarted while the environment was starting"
    );
    assert_eq!(lab.backend.environments().await.unwrap(), vec![kept.id]);
    assert!(lab.backend.starts().is_empty(), "nothing is started again");
}

#[tokio::test(start_paused = true)]
async fn a_re_adopted_session_past_its_expiry_ends_as_expired_on_the_first_tick() {
    let lab = lab(Limits::default());
    let mut late = record(&lab, "late", "demo", Status::Ready);
    late.expires_at = late.created_at + Duration::from_secs(60);
    lab.store.save_session(&late).unwrap();
    // The environment outlived the server that started it.
    let lesson = lab
        .manager
        .shared
        .catalog
        .get()
        .get("demo")
        .cloned()
        .unwrap();
    let progress = ProgressSender::discard();
    lab.backend
        .start(&late.id, &lesson, progress)
        .await
        .unwrap();

    assert!(lab.manager.adopt().await.unwrap().is_empty());
    let adopted = lab.manager.get("late", Some("ann"), false).unwrap();
    lab.manager.tick().await;
    assert_eq!(adopted.status(), Status::Ended);
    let record = lab.store.session(&late.id).unwrap().unwrap();
    assert_eq!(record.end_reason, Some(EndReason::Expired));
    assert!(!lab.backend.has_environment(&late.id));
}

#[tokio::test(start_paused = true)]
async fn an_extension_reaches_at_most_one_ttl_from_now() {
    let lab = lab(Limits {
        session_ttl: Duration::from_secs(60 * 60),
        extend_by: Duration::from_secs(30 * 60),
        ..Limits::default()
    });
    let session = lab.ready_session("ann").await;
    let one_ttl_away = || rfc3339(lab.manager.shared.clock.now() + Duration::from_secs(3600));
    let extended = lab.manager.extend(&session).unwrap();
    assert_eq!(
        extended.expires_at,
        one_ttl_away(),
        "a fresh session is there"
    );

    tokio::time::advance(Duration::from_secs(20 * 60)).await;
    let extended = lab.manager.extend(&session).unwrap();
    assert_eq!(extended.expires_at, one_ttl_away(), "10 of the 30 minutes");

    // Ten minutes left: the whole extension fits.
    tokio::time::advance(Duration::from_secs(50 * 60)).await;
    let left = humantime::parse_rfc3339(&extended.expires_at).unwrap();
    let extended = lab.manager.extend(&session).unwrap();
    let by = Duration::from_secs(30 * 60);
    assert_eq!(extended.expires_at, rfc3339(left + by));
}

#[tokio::test(start_paused = true)]
async fn shutdown_with_destroy_ends_every_session_and_removes_every_environment() {
    let lab = lab(Limits {
        warm_pool: 1,
        ..Limits::default()
    });
    let ann = lab.ready_session("ann").await;
    let bob = lab.ready_session("bob").await;
    until("the pool fills", || lab.metric("playlab_warm_pool_ready 1")).await;
    let (_, mut rx) = ann.events.subscribe();

    lab.manager.shutdown(true).await;
    for session in [&ann, &bob] {
        assert_eq!(session.status(), Status::Ended);
        let record = lab.store.session(&session.id).unwrap().unwrap();
        assert_eq!(record.end_reason, Some(EndReason::Shutdown));
    }
    assert_eq!(drain(&mut rx).last().unwrap()["reason"], "shutdown");
    assert_eq!(lab.manager.live_count(), 0);
    let left = lab.backend.environments().await.unwrap();
    assert!(left.is_empty(), "sessions' and pool's alike: {left:?}");
}

#[tokio::test(start_paused = true)]
async fn a_content_reload_replaces_the_pooled_environments() {
    let lab = lab(Limits {
        warm_pool: 1,
        ..Limits::default()
    });
    lab.manager.refill_pool();
    until("the pool fills", || lab.metric("playlab_warm_pool_ready 1")).await;
    let stale = lab.backend.starts();

    lab.reload().await;
    assert_eq!(
        lab.backend.destroys(),
        stale,
        "the old lesson's environment goes"
    );
    until("the pool refills", || {
        lab.backend.starts().len() == 2 && lab.metric("playlab_warm_pool_ready 1")
    })
    .await;
    let (session, _) = lab.manager.create("ann", "demo", None).unwrap();
    assert_eq!(session.id, lab.backend.starts()[1]);
    let current = lab.manager.shared.catalog.get().get("demo").cloned();
    assert!(
        Arc::ptr_eq(&session.lesson, &current.unwrap()),
        "the new lesson"
    );
}

/// A class member's session on the roster, under the paused clock: the failure
/// message and attempts of the current step, stuck after three fails, the step's
/// time restarting with a pass, stuck again after `stuck_after` without progress.
#[tokio::test(start_paused = true)]
async fn the_roster_follows_a_members_session() {
    use crate::serve::classes::roster::{self, Stuck};
    use crate::serve::classes::{ClassBook, NewClass};

    let lab = lab(Limits::default());
    let done = files_appear(&lab.backend);
    let book = ClassBook::new(lab.store.clone(), lab.manager.shared.catalog.clone(), 10);
    let class = book
        .create(NewClass {
            name: "Monday".into(),
            lessons: vec!["demo".into()],
            starts_at: None,
            ends_at: None,
            capacity: None,
        })
        .unwrap();
    let here = std::net::IpAddr::from([127, 0, 0, 1]);
    book.join(here, &class.code, "ann", "Ann", &Wanted::default())
        .unwrap();
    book.join(here, &class.code, "bob", "Bob", &Wanted::default())
        .unwrap();
    let in_class = book.class_for_session("ann", "demo").unwrap();
    let (session, _) = lab
        .manager
        .create("ann", "demo", in_class.as_deref())
        .unwrap();
    until("the session is ready", || session.status() == Status::Ready).await;
    let stuck_after = Duration::from_secs(600);
    let roster = || roster::gather(&book, &lab.manager, &class.id, stuck_after);

    for _ in 0..3 {
        lab.manager
            .check(&session, None, &Wanted::default())
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(10)).await;
    }
    let r = roster().await.unwrap();
    let ann = &r.learners[0];
    assert_eq!(
        (ann.name.as_str(), ann.step, ann.attempts),
        ("Ann", Some(0), 3)
    );
    assert_eq!(
        ann.last_failure.as_deref(),
        Some("/tmp/done does not exist yet")
    );
    assert_eq!(ann.stuck, Some(Stuck::FailingChecks));
    assert!(!ann.connected, "no terminal attached");
    assert_eq!(r.learners[1].session, None, "Bob has not started");
    assert_eq!(r.summary[0].steps[0].learners, 1);

    done.store(true, Ordering::SeqCst);
    lab.manager
        .check(&session, None, &Wanted::default())
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(30)).await;
    let ann = roster().await.unwrap().learners.remove(0);
    assert_eq!(
        (ann.step, ann.step_title.as_deref()),
        (Some(1), Some("Second step"))
    );
    assert_eq!((ann.attempts, ann.stuck), (0, None));
    assert_eq!(ann.time_on_step_seconds, Some(30));

    tokio::time::advance(stuck_after).await;
    let ann = roster().await.unwrap().learners.remove(0);
    assert_eq!(ann.stuck, Some(Stuck::NoProgress));
    assert_eq!(ann.time_on_step_seconds, Some(630));
}

#[tokio::test(start_paused = true)]
async fn while_the_engine_is_down_nobody_starts_and_when_it_is_back_each_session_hears_of_its_nodes()
 {
    let lab = lab(Limits::default());
    let ann = lab.ready_session("ann").await;
    let bob = lab.ready_session("bob").await;
    let (_, mut ann_events) = ann.events.subscribe();
    let (_, mut bob_events) = bob.events.subscribe();
    let stop = CancellationToken::new();
    tokio::spawn(lab.manager.clone().watch_engine(stop.clone()));

    lab.backend.fail_pings(true);
    until("the engine counts as down", || {
        !lab.manager.shared.engine.answering()
    })
    .await;
    let refused = lab.manager.create("cat", "demo", None).err();
    assert!(
        matches!(refused, Some(SessionError::EngineUnreachable("fake"))),
        "{refused:?}"
    );
    assert_eq!(drain(&mut ann_events)[0]["notice"], "unreachable");

    // Ann's node comes back with the engine; Bob's does not.
    lab.backend.destroy(&bob.id).await.unwrap();
    lab.backend.fail_pings(false);
    for _ in 0..(NODES_BACK.as_secs() * 2) {
        if bob.status() == Status::Failed {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(ann.status(), Status::Ready);
    let ann_heard = drain(&mut ann_events);
    assert_eq!(
        ann_heard.last().unwrap()["notice"],
        "nodes_restarted",
        "{ann_heard:?}"
    );
    assert_eq!(bob.status(), Status::Failed);
    let bob_heard = drain(&mut bob_events);
    let failed = bob_heard.last().unwrap();
    assert_eq!(failed["status"], "failed", "{bob_heard:?}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("node node01 did not come back"), "{error}");
    assert!(lab.manager.create("cat", "demo", None).is_ok());
    stop.cancel();
}

/// A node lost while the engine answers (a swarm host that went down) fails only its
/// own session, and the learner reads why.
#[tokio::test(start_paused = true)]
async fn a_session_that_lost_a_node_fails_with_the_reason_and_others_go_on() {
    let lab = lab(Limits::default());
    let ann = lab.ready_session("ann").await;
    let bob = lab.ready_session("bob").await;
    let (_, mut bob_events) = bob.events.subscribe();
    let stop = CancellationToken::new();
    tokio::spawn(lab.manager.clone().watch_engine(stop.clone()));

    lab.backend.lose(
        &bob.id,
        "the lab host pool-host3 that ran node node01 stopped answering",
    );
    for _ in 0..(LOST_EVERY * 2) {
        if bob.status() == Status::Failed {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    assert_eq!(bob.status(), Status::Failed);
    let heard = drain(&mut bob_events);
    let failed = heard.last().unwrap();
    assert_eq!(failed["status"], "failed", "{heard:?}");
    assert_eq!(
        failed["error"],
        "the lab host pool-host3 that ran node node01 stopped answering; start the lesson again"
    );
    assert!(
        lab.backend.destroys().contains(&bob.id),
        "its environment goes"
    );
    assert_eq!(ann.status(), Status::Ready);
    stop.cancel();
}

/// A backend without room refuses a new environment before anything is created, but
/// never a learner's own live session.
#[tokio::test(start_paused = true)]
async fn a_full_pool_refuses_new_environments_only() {
    let lab = lab(Limits::default());
    let ann = lab.ready_session("ann").await;
    lab.backend.fill(true);
    let refused = lab.manager.room_for("bob", "demo").await;
    assert!(
        matches!(&refused, Err(SessionError::PoolFull(why)) if why.contains("told it is full")),
        "{refused:?}"
    );
    assert!(lab.manager.room_for("ann", &ann.lesson.id).await.is_ok());
    lab.backend.fill(false);
    assert!(lab.manager.room_for("bob", "demo").await.is_ok());
}

/// Where a backend has several hosts, each live session knows its hosts and the
/// metrics count sessions per host.
#[tokio::test(start_paused = true)]
async fn sessions_know_their_hosts_and_the_metrics_count_them() {
    let lab = lab(Limits::default());
    let ann = lab.ready_session("ann").await;
    let bob = lab.ready_session("bob").await;
    lab.backend.place(&ann.id, &["pool-host1", "pool-host2"]);
    lab.backend.place(&bob.id, &["pool-host2"]);
    let stop = CancellationToken::new();
    tokio::spawn(lab.manager.clone().watch_engine(stop.clone()));
    for _ in 0..(LOST_EVERY * 2) {
        if !bob.view().hosts.is_empty() {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    stop.cancel();
    assert_eq!(ann.view().hosts, ["pool-host1", "pool-host2"]);
    assert_eq!(bob.view().hosts, ["pool-host2"]);
    let metrics = lab.manager.shared.metrics.encode();
    assert!(
        metrics.contains("playlab_sessions_per_host{host=\"pool-host2\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("playlab_sessions_per_host{host=\"pool-host1\"} 1"),
        "{metrics}"
    );
}
