//! The kubeadm-upgrade lesson's order check, as a WASI command.
//!
//! Reads playlab's WASM check input on stdin (`{"probes":[...],"transcript":[{"node",
//! "at","line"}],"step":N}`), looks at the command lines the learner typed, in the
//! order they were typed, and decides:
//!
//! 1. no `kubeadm upgrade node` (a worker's upgrade) before the first
//!    `kubeadm upgrade apply` (the control plane's);
//! 2. `kubeadm upgrade apply` ran;
//! 3. an `etcdctl ... snapshot save` ran before it;
//! 4. `kubeadm upgrade node` ran afterwards on another node (the worker).
//!
//! Lines containing `--dry-run` change nothing and are ignored. It prints one line
//! (the message the learner sees) and exits 0 when all four hold, 1 otherwise, 2 on
//! input it cannot read.
//!
//! `checks-wasm/README.md` says how this relates to the hand-written
//! `upgrade-order.wat` that the lesson ships: same rules, same messages, same cases.

mod json;

use std::io::Read;

use json::Value;

/// One transcript entry, as far as the rules care.
pub struct Entry {
    pub node: String,
    pub line: String,
}

pub const EARLY: &str =
    "a worker was upgraded (kubeadm upgrade node) before the control plane (kubeadm upgrade apply)";
pub const NO_APPLY: &str = "kubeadm upgrade apply has not run on the control plane yet";
pub const NO_BACKUP: &str =
    "kubeadm upgrade apply ran before any etcd backup: run etcdctl snapshot save first";
pub const NO_WORKER: &str =
    "the control plane is upgraded; now upgrade the worker with kubeadm upgrade node";
pub const PASSED: &str = "etcd was backed up, then the control plane upgraded, then the worker";

/// The verdict: exit code and message.
pub fn judge(entries: &[Entry]) -> (i32, &'static str) {
    let mut snapshot = false;
    // The node `kubeadm upgrade apply` first ran on, and whether a snapshot preceded it.
    let mut apply: Option<(&str, bool)> = None;
    let mut worker_early = false;
    let mut worker_done = false;
    for entry in entries {
        let line = entry.line.as_str();
        if line.contains("--dry-run") {
            continue;
        }
        if line.contains("etcdctl") && line.contains("snapshot save") {
            snapshot = true;
        }
        if line.contains("kubeadm upgrade apply") && apply.is_none() {
            apply = Some((&entry.node, snapshot));
        }
        if line.contains("kubeadm upgrade node") {
            match apply {
                None => worker_early = true,
                Some((node, _)) if node != entry.node => worker_done = true,
                Some(_) => {}
            }
        }
    }
    match apply {
        _ if worker_early => (1, EARLY),
        None => (1, NO_APPLY),
        Some((_, false)) => (1, NO_BACKUP),
        Some(_) if !worker_done => (1, NO_WORKER),
        Some(_) => (0, PASSED),
    }
}

/// The transcript entries of a check input.
pub fn entries(input: &str) -> Result<Vec<Entry>, String> {
    let value = json::parse(input)?;
    let Some(Value::Array(items)) = value.get("transcript") else {
        return Err("the input has no transcript array".into());
    };
    items
        .iter()
        .map(|item| match (item.get("node"), item.get("line")) {
            (Some(Value::String(node)), Some(Value::String(line))) => Ok(Entry {
                node: node.clone(),
                line: line.clone(),
            }),
            _ => Err("a transcript entry lacks node or line".into()),
        })
        .collect()
}

fn main() {
    let mut input = String::new();
    let verdict = std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the check input: {e}"))
        .and_then(|_| entries(&input));
    match verdict {
        Ok(entries) => {
            let (code, message) = judge(&entries);
            println!("{message}");
            std::process::exit(code);
        }
        Err(e) => {
            println!("upgrade-order: {e}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases shared with the `.wat` version's test in `runner/tests/checks.rs`:
    /// `cases/NAME.json` is the check input, `cases/NAME.expect` the exit code and the
    /// message on two lines.
    #[test]
    fn shared_cases() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            seen += 1;
            let input = std::fs::read_to_string(&path).unwrap();
            let expect = std::fs::read_to_string(path.with_extension("expect")).unwrap();
            let mut lines = expect.lines();
            let code: i32 = lines.next().unwrap().parse().unwrap();
            let message = lines.next().unwrap();
            let got = judge(&entries(&input).unwrap());
            assert_eq!(got, (code, message), "case {}", path.display());
        }
        assert!(seen >= 6, "shared cases are missing");
    }

    #[test]
    fn unreadable_input_is_an_error() {
        assert!(entries("not json").is_err());
        assert!(entries(r#"{"probes":[]}"#).is_err());
        assert!(entries(r#"{"transcript":[{"node":"a"}]}"#).is_err());
    }
}
