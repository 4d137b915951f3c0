//! `playlab gc` on the real Docker engine, against real `playlab serve` processes: a
//! server killed with `kill -9` loses its liveness record with its process, and its
//! environment is then found and removed; a live server's environment is never
//! touched, even when gc is asked about that server by name.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{Client, ServerProcess, fixtures};

/// Runs `playlab gc` with `args`; fails on a non-zero exit, with what it said.
fn gc(args: &[&str]) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_playlab"))
        .arg("gc")
        .args(args)
        .output()
        .expect("the playlab binary runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    assert!(
        status.success(),
        "playlab gc {args:?} failed ({status}):\n{said}"
    );
    said
}

/// The ids of the containers Docker has with `label` (`KEY=VALUE`), running or not.
fn containers_labelled(label: &str) -> Vec<String> {
    let output = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={label}")])
        .output()
        .expect("docker runs (Debian: `apt-get install docker.io`, then start `dockerd`)");
    assert!(output.status.success(), "docker ps failed: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn wait_until(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_a_killed_servers_environment_and_never_a_live_ones() {
    let live = ServerProcess::start(&fixtures(), &[]).await;
    let live_owner = live.owner();
    let live_session = Client::new(&live.url).ready_session().await;

    let killed = ServerProcess::start(&fixtures(), &[]).await;
    let killed_owner = killed.owner();
    let killed_session = Client::new(&killed.url).ready_session().await;
    let record = format!("playlab.liveness={killed_owner}");
    assert_eq!(
        containers_labelled(&record).len(),
        1,
        "a running server holds one liveness record"
    );
    // As a crash would: no shutdown, no clean-up, and its data directory goes too.
    killed.signal("KILL");
    drop(killed);
    wait_until(
        "the killed server's liveness record ending",
        Duration::from_secs(20),
        || containers_labelled(&record).is_empty(),
    );
    let killed_nodes = format!("playlab.session={killed_session}");
    let live_nodes = format!("playlab.session={live_session}");
    assert!(
        !containers_labelled(&killed_nodes).is_empty(),
        "the kill left the environment"
    );

    // The dry run names the killed server's session, not the live one's, and removes nothing.
    let listed = gc(&[]);
    assert!(listed.contains(&killed_session), "{listed}");
    assert!(listed.contains(&killed_owner), "{listed}");
    assert!(!listed.contains(&live_session), "{listed}");
    assert!(listed.contains("dry run"), "{listed}");
    assert!(
        !containers_labelled(&killed_nodes).is_empty(),
        "a dry run removed something"
    );

    // Removing, narrowed to the killed server: other tests' environments on this engine
    // are not this test's to remove.
    let removed = gc(&["--yes", "--owner", &killed_owner]);
    assert!(
        removed.contains(&format!("removed {killed_session}")),
        "{removed}"
    );
    assert_eq!(containers_labelled(&killed_nodes), Vec::<String>::new());

    // Asked about the live server by name, gc finds nothing to remove.
    let spared = gc(&["--yes", "--owner", &live_owner]);
    assert!(spared.contains("no orphaned environments"), "{spared}");
    assert!(
        !containers_labelled(&live_nodes).is_empty(),
        "gc touched a live server's session"
    );

    // A graceful stop ends the record and the environment alike.
    live.stop();
    assert_eq!(containers_labelled(&live_nodes), Vec::<String>::new());
    let live_record = format!("playlab.liveness={live_owner}");
    wait_until(
        "the stopped server's liveness record ending",
        Duration::from_secs(20),
        || containers_labelled(&live_record).is_empty(),
    );
}
