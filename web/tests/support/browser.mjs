// What every browser test shares: the server it was pointed at (server/tests/browser.rs
// starts it and passes these), a headless Chromium of its own, and the waits on a
// terminal's screen. Not a test file itself (node --test runs `*.test.mjs`).
//   PLAYLAB_URL          the server's base URL (http://127.0.0.1:PORT)
//   PLAYLAB_ADMIN_TOKEN  the admin token the server was started with
//   PLAYLAB_SCREENSHOTS  where to save screenshots (artifacts/screenshots)
//   PLAYLAB_SESSION_FILE where each test appends the ids of the sessions it started,
//                        one per line (the Rust side checks that each left nothing)

import assert from "node:assert/strict";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through \`cargo test -p playlab --test browser\``);
  return value;
}

export const BASE = required("PLAYLAB_URL");
export const ADMIN_TOKEN = required("PLAYLAB_ADMIN_TOKEN");
export const SHOTS = process.env.PLAYLAB_SCREENSHOTS ?? path.resolve("../artifacts/screenshots");
/** Starting containers from a cached image is fast; a loaded CI machine is not. */
export const READY_TIMEOUT = 90_000;

/** Notes a session this test started, so the Rust side checks it left nothing behind. */
export async function recordSession(id) {
  const file = process.env.PLAYLAB_SESSION_FILE;
  if (file) await appendFile(file, `${id}\n`);
}

/** Headless Chromium with its own profile: a browser of its own, cookies included.
 *  `locale` is its language (navigator.languages, Accept-Language): explicit, so the
 *  machine's own locale does not decide the interface's language. */
export function launch(profile, locale = "en-US") {
  return chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    locale,
    viewport: { width: 1366, height: 768 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A fresh English browser and its page, with what the page asked of anything but
 *  playlab (labs run offline: `foreign` must stay empty) and its script errors. */
export async function browser() {
  const profile = await mkdtemp(path.join(os.tmpdir(), "playlab-chromium-"));
  const context = await launch(profile);
  const page = context.pages()[0] ?? (await context.newPage());
  const foreign = [];
  const errors = [];
  page.on("request", (r) => {
    if (!["data:", "blob:"].includes(new URL(r.url()).protocol) && new URL(r.url()).origin !== BASE) foreign.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return {
    page, foreign, errors,
    close: async () => { await context.close(); await rm(profile, { recursive: true, force: true }); },
  };
}

/** Waits until `node`'s terminal screen satisfies `predicate(lines)`; fails with the screen. */
export async function waitForScreen(page, node, description, predicate, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await page.evaluate((n) => window.playlab?.screen(n) ?? "", node);
    if (predicate(screen.split("\n").map((l) => l.trimEnd()))) return screen;
    await page.waitForTimeout(100);
  }
  assert.fail(`${node}'s terminal never showed ${description}; it shows:\n${screen}`);
}

/** Types `text` and Enter into `node`'s terminal, choosing its tab first. */
export async function typeInto(page, node, text) {
  await page.locator(`[role=tab][data-node="${node}"]`).click();
  await page.locator(`.term-panel[data-node="${node}"] .xterm`).click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

/** The subtests of one learner's way through a lesson: after a failed step the later
 *  ones would only fail for the same reason, so they are skipped. A failure leaves a
 *  screenshot `failureShot` of what the learner saw, for whoever reads the CI artifacts. */
export function stepper(t, page, failureShot) {
  let failed = false;
  return (name, fn) =>
    t.test(name, { skip: failed && "an earlier step failed" }, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        await page.screenshot({ path: path.join(SHOTS, failureShot) }).catch(() => {});
        throw e;
      }
    });
}
