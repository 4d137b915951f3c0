//! Builds the browser front-end (`web/`) with npm so the `playlab` binary can embed it
//! (see `src/serve/assets.rs`).
//!
//! Why here and not a separate step: the README promises one command to run playlab,
//! and a binary without its UI is useless to a learner. Cargo only re-runs this script
//! when one of the watched inputs changes, so a build where nothing in `web/` changed
//! costs nothing; `npm ci` runs only when `node_modules` is missing or the lockfile
//! changed since the last install (tracked by a stamp holding the lockfile's hash).
//! A failing npm step fails the cargo build and shows npm's own output.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Inputs whose change means the UI must be rebuilt.
const WATCHED: &[&str] = &[
    "src",
    "package.json",
    "package-lock.json",
    "build.mjs",
    "tsconfig.json",
];

/// Written into `node_modules` after a successful `npm ci`: the hash of the lockfile it
/// installed, so a changed lockfile triggers a fresh install.
const STAMP: &str = ".playlab-lock-hash";

fn main() {
    // Read when the script runs, not baked in when it was compiled: checkouts that
    // share a target directory share this script's binary, and each must build its own
    // `web/`.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|| fail("cargo did not set CARGO_MANIFEST_DIR"));
    let web = PathBuf::from(manifest_dir).join("../web");
    let web = web.canonicalize().unwrap_or(web);
    for input in WATCHED {
        // Relative to the package root on purpose: cargo resolves it against the
        // checkout being built, so git worktrees sharing one target directory (whose
        // build-script fingerprint is shared too) each notice their own edits.
        println!("cargo:rerun-if-changed=../web/{input}");
    }
    // `dist` is not watched: this script writes it, and a watched output would make
    // every cargo build re-run npm. After deleting it, touch `web/package.json`.

    let lock = match std::fs::read(web.join("package-lock.json")) {
        Ok(lock) => lock,
        Err(e) => fail(&format!(
            "cannot read {}: {e}",
            web.join("package-lock.json").display()
        )),
    };
    let lock_hash = {
        let mut h = DefaultHasher::new();
        lock.hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let stamp = web.join("node_modules").join(STAMP);
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock_hash.as_str()) {
        // `--ignore-scripts`: no dependency needs an install script (esbuild's binary
        // comes as an optional platform package), and none should run at build time.
        npm(&web, &["ci", "--ignore-scripts", "--no-audit", "--no-fund"]);
        if let Err(e) = std::fs::write(&stamp, &lock_hash) {
            fail(&format!("cannot write {}: {e}", stamp.display()));
        }
    }
    npm(&web, &["run", "build"]);
}

/// Runs npm in `web/`, failing the cargo build with npm's output when it fails.
fn npm(web: &Path, args: &[&str]) {
    let output = match Command::new("npm").args(args).current_dir(web).output() {
        Ok(output) => output,
        Err(e) => fail(&format!(
            "cannot run `npm {}`: {e}\nplaylab embeds its web UI, built with Node.js 20+ and npm: \
             install them (Debian: `apt-get install nodejs npm`)",
            args.join(" ")
        )),
    };
    if !output.status.success() {
        fail(&format!(
            "`npm {}` in {} failed ({}):\n{}\n{}",
            args.join(" "),
            web.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
