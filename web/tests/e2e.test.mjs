// End-to-end test of the web UI in a real browser (Debian's headless Chromium driven by
// playwright-core) against a real `playlab serve` and real Docker. Started by
// server/tests/browser.rs, which passes:
//   PLAYLAB_URL          the server's base URL (http://127.0.0.1:PORT)
//   PLAYLAB_ADMIN_TOKEN  the admin token the server was started with
//   PLAYLAB_SCREENSHOTS  where to save screenshots (artifacts/screenshots)
//   PLAYLAB_SESSION_FILE where to write the session id (the Rust side checks cleanup)
// The steps depend on each other (one learner going through one lesson), so they are
// subtests of one test that stop at the first failure.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const BASE = required("PLAYLAB_URL");
const ADMIN_TOKEN = required("PLAYLAB_ADMIN_TOKEN");
const SHOTS = process.env.PLAYLAB_SCREENSHOTS ?? path.resolve("../artifacts/screenshots");
const SESSION_FILE = process.env.PLAYLAB_SESSION_FILE;
const LESSON = "browser-tour";
/** Starting containers from a cached image is fast; a loaded CI machine is not. */
const READY_TIMEOUT = 90_000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through \`cargo test -p playlab --test browser\``);
  return value;
}

/** Waits until `node`'s terminal screen satisfies `predicate(lines)`; fails with the screen. */
async function waitForScreen(page, node, description, predicate, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await page.evaluate((n) => window.playlab?.screen(n) ?? "", node);
    if (predicate(screen.split("\n").map((l) => l.trimEnd()))) return screen;
    await page.waitForTimeout(100);
  }
  assert.fail(`${node}'s terminal never showed ${description}; it shows:\n${screen}`);
}

async function typeInto(page, node, text) {
  await page.locator(`[role=tab][data-node="${node}"]`).click();
  await page.locator(`.term-panel[data-node="${node}"] .xterm`).click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

test("a learner goes through a lesson in the browser", async (t) => {
  await mkdir(SHOTS, { recursive: true });
  const profile = await mkdtemp(path.join(os.tmpdir(), "playlab-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
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
  const page = context.pages()[0] ?? (await context.newPage());
  // Labs run offline: the page may talk to playlab and nothing else.
  const foreign = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (!["data:", "blob:"].includes(url.protocol) && url.origin !== BASE && url.origin !== BASE.replace("http", "ws")) foreign.push(r.url());
  });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  let sessionId;
  // One learner's way through one lesson: after a failed step the later ones would
  // only fail for the same reason, so they are skipped.
  let failed = false;
  const step = (name, fn) =>
    t.test(name, { skip: failed && "an earlier step failed" }, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        // What the learner would have seen, for whoever reads the CI artifacts.
        await page.screenshot({ path: path.join(SHOTS, "failure.png") }).catch(() => {});
        throw e;
      }
    });

  try {
    await step("catalog lists the lesson with its details and filters by tag", async () => {
      await page.goto(BASE + "/");
      const card = page.locator(`[data-lesson="${LESSON}"]`);
      await card.waitFor();
      const text = (await card.innerText()).toLowerCase();
      for (const want of ["browser tour", "beginner", "5m", "2 steps", "test", "basics"]) {
        assert.ok(text.includes(want), `card lacks "${want}": ${text}`);
      }
      await page.locator(".chip", { hasText: "basics" }).click();
      assert.equal(await page.locator(".chip", { hasText: "basics" }).getAttribute("aria-pressed"), "true");
      assert.ok(page.url().endsWith("/?tag=basics"), page.url());
      await card.waitFor();
      await page.locator(".chip", { hasText: "basics" }).click();
      await page.screenshot({ path: path.join(SHOTS, "catalog.png"), animations: "disabled" });
    });

    await step("starting the lesson brings up a terminal per node", async () => {
      await page.locator(`[data-lesson="${LESSON}"] .card-link`).click();
      await page.waitForURL(`**/lessons/${LESSON}`);
      for (const node of ["controlplane", "node01"]) {
        await page.locator(`[role=tab][data-node="${node}"][data-state="connected"]`).waitFor({ timeout: READY_TIMEOUT });
      }
      sessionId = await page.evaluate(() => window.playlab.session);
      assert.match(sessionId, /^[a-z0-9]+$/);
      if (SESSION_FILE) await writeFile(SESSION_FILE, sessionId);
      await page.locator('[data-step="0"]').waitFor();
    });

    await step("a typed command runs and shows its output", async () => {
      await typeInto(page, "controlplane", "echo $((6*7))");
      await waitForScreen(page, "controlplane", "42", (lines) => lines.includes("42"));
    });

    await step("Run buttons type into the right node's terminal", async () => {
      const runs = page.locator("[data-testid=run]");
      assert.equal(await runs.count(), 2);
      await runs.nth(1).click();
      assert.equal(await page.locator('[role=tab][data-node="node01"]').getAttribute("aria-selected"), "true");
      await waitForScreen(page, "node01", "the block's output on node01", (l) =>
        l.includes("second block on node01") && l.includes("prepared by setup"));
      await runs.nth(0).click();
      assert.equal(await page.locator('[role=tab][data-node="controlplane"]').getAttribute("aria-selected"), "true");
      const cp = await waitForScreen(page, "controlplane", "the block's output on controlplane", (l) => l.includes("first block on controlplane"));
      assert.ok(!cp.includes("second block on"), "the node01 block ran on controlplane too");
    });

    await step("Check shows the failure message and the check's output", async () => {
      await page.locator("[data-testid=check]").click();
      const result = page.locator(".check-result.fail");
      await result.waitFor();
      const text = await result.innerText();
      assert.ok(text.includes("Create the file /root/marker on controlplane."), `no fail message: ${text}`);
      assert.ok(text.includes("no /root/marker on controlplane yet"), `no check output: ${text}`);
    });

    await step("doing the work makes the check pass", async () => {
      await typeInto(page, "controlplane", "touch /root/marker && echo marker-made");
      await waitForScreen(page, "controlplane", "marker-made", (l) => l.includes("marker-made"));
      await page.locator("[data-testid=check]").click();
      await page.locator(".check-result.pass").waitFor();
      assert.equal(await page.locator("[role=progressbar]").getAttribute("aria-valuenow"), "1");
      await page.screenshot({ path: path.join(SHOTS, "lesson.png"), animations: "disabled" });
    });

    await step("the theme toggle switches page and terminal to dark and back", async () => {
      const toggle = page.getByRole("button", { name: /^Theme:/ });
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const light = await background();
      await toggle.click(); // system -> light
      await toggle.click(); // light -> dark
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
      assert.notEqual(await background(), light);
      await page.screenshot({ path: path.join(SHOTS, "lesson-dark.png"), animations: "disabled" });
      await toggle.click(); // dark -> system
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), undefined);
    });

    await step("resizing the window resizes the TTY", async () => {
      const before = await page.evaluate(() => window.playlab.size("controlplane"));
      await page.setViewportSize({ width: 1100, height: 640 });
      await page.waitForFunction((b) => {
        const s = window.playlab.size("controlplane");
        return s.cols !== b.cols && s.rows !== b.rows;
      }, before);
      const after = await page.evaluate(() => window.playlab.size("controlplane"));
      await typeInto(page, "controlplane", "stty size");
      await waitForScreen(page, "controlplane", `"${after.rows} ${after.cols}"`, (l) => l.includes(`${after.rows} ${after.cols}`));
      await page.setViewportSize({ width: 1366, height: 768 });
    });

    await step("a reload returns to the same session, step and screen", async () => {
      await typeInto(page, "controlplane", "echo before-reload-$((40+2))");
      await waitForScreen(page, "controlplane", "before-reload-42", (l) => l.includes("before-reload-42"));
      await page.reload();
      await page.locator('[role=tab][data-node="controlplane"][data-state="connected"]').waitFor({ timeout: READY_TIMEOUT });
      assert.equal(await page.evaluate(() => window.playlab.session), sessionId);
      await page.locator('[data-step="1"]').waitFor();
      await waitForScreen(page, "controlplane", "the output from before the reload", (l) => l.includes("before-reload-42"));
    });

    await step("a dropped connection shows its state, reconnects and replays the screen", async () => {
      await page.evaluate(() => window.playlab.drop("controlplane"));
      await page.locator('[role=tab][data-node="controlplane"][data-state="reconnecting"]').waitFor();
      assert.match(await page.locator(".term-status").innerText(), /Reconnecting/);
      await page.locator('[role=tab][data-node="controlplane"][data-state="connected"]').waitFor();
      await waitForScreen(page, "controlplane", "the replayed screen", (l) => l.includes("before-reload-42"));
      await typeInto(page, "controlplane", "echo after-reconnect-$((6*7))");
      await waitForScreen(page, "controlplane", "after-reconnect-42", (l) => l.includes("after-reconnect-42"));
    });

    await step("the dashboard lists the session and shows its terminal read-only", async () => {
      const admin = await context.newPage();
      await admin.goto(BASE + "/dashboard");
      await admin.locator("#admin-token").fill(ADMIN_TOKEN);
      await admin.locator("#admin-token").press("Enter");
      const row = admin.locator(`tr[data-session="${sessionId}"]`);
      await row.waitFor();
      const text = (await row.innerText()).toLowerCase();
      assert.ok(text.includes("browser tour") && text.includes("2 / 2") && text.includes("ready"), text);
      await row.getByRole("button", { name: /Watch controlplane/ }).click();
      await admin.locator(".watch .terminal-host[data-state=connected]").waitFor();
      await waitForScreen(admin, "controlplane", "the learner's screen", (l) => l.includes("before-reload-42"));
      await admin.screenshot({ path: path.join(SHOTS, "dashboard.png"), animations: "disabled" });
      await admin.close();
    });

    await step("the quiz passes and the lesson finishes", async () => {
      await page.locator(".quiz-choice", { hasText: "node01" }).click();
      await page.locator("[data-testid=check]").click();
      await page.locator(".check-result.pass").waitFor();
      await page.locator("[data-testid=next]").click();
      await page.locator('[data-step="finish"]').waitFor();
      assert.ok((await page.locator('[data-step="finish"]').innerText()).includes("You toured the lesson page."));
      await page.locator("[data-testid=end-session]").click();
      await page.waitForURL(BASE + "/");
      const status = await page.evaluate(async (id) => (await (await fetch(`/api/sessions/${id}`)).json()).status, sessionId);
      assert.equal(status, "ended");
    });

    await step("the page made no request outside playlab and threw no error", () => {
      assert.deepEqual(foreign, []);
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
