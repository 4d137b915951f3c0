// End-to-end test of the web UI in a real browser (Debian's headless Chromium driven by
// playwright-core) against a real `playlab serve` and real Docker. Started by
// server/tests/browser.rs, with the settings support/browser.mjs reads.
// The steps depend on each other (one learner going through one lesson), so they are
// subtests of one test that stop at the first failure. The first learner's browser is
// English; a second one's is Chinese (the interface and the lesson in Chinese).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, BASE, READY_TIMEOUT, SHOTS, launch, recordSession, stepper, typeInto, waitForScreen } from "./support/browser.mjs";

const LESSON = "browser-tour";
/** What xterm.js holds in cells `from..to` of row `row` of `node`'s active buffer (rows
 *  counted like the lines of `window.playlab.screen`): the text, how many columns each
 *  takes (a wide character 2, then 0 for the column it covers) and its colours as
 *  "default", "palette:N" or "rgb:RRGGBB". The WebGL renderer draws into a canvas, so
 *  this buffer is what the screen is painted from. */
async function cells(page, node, row, from, to) {
  return page.evaluate(([n, y, from, to]) => {
    const line = window.playlab.terminal(n).buffer.active.getLine(y);
    const colour = (palette, rgb, value) =>
      palette ? `palette:${value}` : rgb ? `rgb:${value.toString(16).padStart(6, "0")}` : "default";
    const out = [];
    for (let x = from; x < to; x++) {
      const c = line?.getCell(x);
      if (!c) break;
      out.push({
        chars: c.getChars(),
        width: c.getWidth(),
        fg: colour(c.isFgPalette(), c.isFgRGB(), c.getFgColor()),
        bg: colour(c.isBgPalette(), c.isBgRGB(), c.getBgColor()),
      });
    }
    return out;
  }, [node, row, from, to]);
}

/** The row of the line that is exactly `text` (output, not the command that printed it). */
function rowOf(screen, text) {
  const row = screen.split("\n").findIndex((l) => l.trimEnd() === text);
  assert.ok(row >= 0, `no line "${text}" in:\n${screen}`);
  return row;
}

/** Which of its two screens `node`'s terminal shows: "normal" or "alternate". */
const activeScreen = (page, node) => page.evaluate((n) => window.playlab.terminal(n).buffer.active.type, node);

/** The page's focused element: inside a terminal or not, its id and its aria-label. */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return { inTerminal: !!el?.closest(".xterm"), id: el?.id ?? "", label: el?.getAttribute("aria-label") ?? "" };
  });

test("a learner goes through a lesson in the browser", async (t) => {
  await mkdir(SHOTS, { recursive: true });
  const profile = await mkdtemp(path.join(os.tmpdir(), "playlab-chromium-"));
  const context = await launch(profile);
  // Copy and paste go through the real clipboard (Ctrl+Shift+C / Ctrl+Shift+V).
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
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
  const step = stepper(t, page, "failure.png");

  try {
    await step("catalog lists the lesson with its details and filters by tag", async () => {
      await page.goto(BASE + "/");
      const card = page.locator(`[data-lesson="${LESSON}"]`);
      await card.waitFor();
      const text = (await card.innerText()).toLowerCase();
      for (const want of ["browser tour", "beginner", "5 min", "2 steps", "test", "basics"]) {
        assert.ok(text.includes(want), `card lacks "${want}": ${text}`);
      }
      await page.locator(".chip", { hasText: "basics" }).click();
      assert.equal(await page.locator(".chip", { hasText: "basics" }).getAttribute("aria-pressed"), "true");
      assert.ok(page.url().endsWith("/?tag=basics"), page.url());
      await card.waitFor();
      await page.locator(".chip", { hasText: "basics" }).click();
      await page.screenshot({ path: path.join(SHOTS, "catalog.png"), animations: "disabled" });
    });

    await step("a lesson this server cannot run says why and starts nothing", async () => {
      const card = page.locator('[data-lesson="needs-system-nodes"]');
      await card.waitFor();
      const text = await card.innerText();
      for (const want of ["Not available here", "system node", "--allow-system-nodes"]) {
        assert.ok(text.includes(want), `card lacks "${want}": ${text}`);
      }
      await card.locator(".card-link").click();
      await page.waitForURL("**/lessons/needs-system-nodes");
      const notice = page.locator(".notice");
      await notice.waitFor();
      const why = await notice.innerText();
      assert.ok(why.includes("cannot start on this server") && why.includes("--allow-system-nodes"), why);
      const mine = await page.evaluate(() => fetch("/api/sessions").then((r) => r.json()));
      assert.deepEqual(mine.filter((s) => s.lesson === "needs-system-nodes"), [], "no session for it");
      await page.goto(BASE + "/");
    });

    await step("starting the lesson brings up a terminal per node", async () => {
      await page.locator(`[data-lesson="${LESSON}"] .card-link`).click();
      await page.waitForURL(`**/lessons/${LESSON}`);
      for (const node of ["controlplane", "node01"]) {
        await page.locator(`[role=tab][data-node="${node}"][data-state="connected"]`).waitFor({ timeout: READY_TIMEOUT });
      }
      sessionId = await page.evaluate(() => window.playlab.session);
      assert.match(sessionId, /^[a-z0-9]+$/);
      await recordSession(sessionId);
      await page.locator('[data-step="0"]').waitFor();
    });

    await step("a typed command runs and shows its output", async () => {
      await typeInto(page, "controlplane", "echo $((6*7))");
      await waitForScreen(page, "controlplane", "42", (lines) => lines.includes("42"));
    });

    // Colours are checked in the cell the shell's output landed in, for each kind of
    // SGR colour a program may use: 16-colour, 256-colour (cube and grey ramp) and true
    // colour, foreground and background.
    const COLOURS = [
      { sgr: "31", text: "ansi-red", want: { fg: "palette:1", bg: "default" } },
      { sgr: "38;5;196", text: "fg-196", want: { fg: "palette:196", bg: "default" } },
      { sgr: "38;5;244", text: "grey-244", want: { fg: "palette:244", bg: "default" } },
      { sgr: "48;5;21", text: "bg-21", want: { fg: "default", bg: "palette:21" } },
      { sgr: "38;2;255;136;0", text: "rgb-ff8800", want: { fg: "rgb:ff8800", bg: "default" } },
    ];
    await step("256 colours and true colour reach the terminal's cells", async () => {
      const printf = COLOURS.map((c) => `\\e[${c.sgr}m${c.text}\\e[0m\\n`).join("");
      await typeInto(page, "controlplane", `printf '${printf}'`);
      const screen = await waitForScreen(page, "controlplane", "the coloured lines", (l) => COLOURS.every((c) => l.includes(c.text)));
      for (const { sgr, text, want } of COLOURS) {
        const row = rowOf(screen, text);
        const got = await cells(page, "controlplane", row, 0, text.length);
        for (const [i, cell] of got.entries()) {
          assert.deepEqual({ fg: cell.fg, bg: cell.bg }, want, `ESC[${sgr}m: cell ${i} ("${cell.chars}") of "${text}"`);
        }
        const after = (await cells(page, "controlplane", row, text.length, text.length + 1))[0];
        assert.deepEqual({ fg: after.fg, bg: after.bg }, { fg: "default", bg: "default" }, `ESC[0m did not reset after "${text}"`);
      }
    });

    await step("Unicode text shows, wide characters take two cells", async () => {
      const text = "héllo 世界 ✓";
      await typeInto(page, "controlplane", `echo '${text}'`);
      const screen = await waitForScreen(page, "controlplane", text, (l) => l.includes(text));
      const got = (await cells(page, "controlplane", rowOf(screen, text), 0, 12)).map((c) => [c.chars, c.width]);
      assert.deepEqual(got, [
        ["h", 1], ["é", 1], ["l", 1], ["l", 1], ["o", 1], [" ", 1],
        ["世", 2], ["", 0], ["界", 2], ["", 0], [" ", 1], ["✓", 1],
      ]);
      await page.screenshot({ path: path.join(SHOTS, "terminal-colours-unicode.png"), animations: "disabled" });
    });

    await step("Chinese typed through an input method arrives as whole characters", async () => {
      // What an IME does: a composition ("ni", "nih", ... shown in place, not yet text),
      // then the committed characters. Only the committed ones may reach the shell.
      await page.locator('[role=tab][data-node="controlplane"]').click();
      await page.locator('.term-panel[data-node="controlplane"] .xterm').click();
      await page.keyboard.type("echo ime-");
      const cdp = await page.context().newCDPSession(page);
      for (const partial of ["n", "ni", "nih", "niha", "nihao", "你好"]) {
        await cdp.send("Input.imeSetComposition", { text: partial, selectionStart: partial.length, selectionEnd: partial.length });
      }
      await cdp.send("Input.insertText", { text: "你好" });
      await cdp.detach();
      await page.keyboard.type("-$((40+2))，世界");
      await page.keyboard.press("Enter");
      const screen = await waitForScreen(page, "controlplane", "the composed text", (l) => l.includes("ime-你好-42，世界"));
      for (const fragment of ["ime-n", "ime-你好你好", "nihao"]) {
        assert.ok(!screen.includes(fragment), `a partial composition reached the shell (${fragment}):\n${screen}`);
      }
      await page.screenshot({ path: path.join(SHOTS, "terminal-cjk.png"), animations: "disabled" });
    });

    await step("a full-screen program gets the alternate screen and the shell's screen comes back", async () => {
      // What vim or top do through terminfo, with the tools debian:bookworm-slim has:
      // enter the alternate screen, draw at cursor positions (one of them computed from
      // the TTY's size), wait for a key, leave.
      await typeInto(page, "controlplane",
        "tput smcup; tput clear; tput cup 4 9; printf drawn-at-5-10; tput cup $(($(tput lines)-1)) 0; printf 'bottom line'; " +
        "read -rsn1; tput rmcup; echo back-from-full-screen");
      await page.waitForFunction(() => window.playlab.terminal("controlplane").buffer.active.type === "alternate");
      const { rows } = await page.evaluate(() => window.playlab.size("controlplane"));
      const full = await waitForScreen(page, "controlplane", "the full-screen drawing", (l) => l.includes("bottom line"));
      const lines = full.split("\n");
      assert.equal(lines[4], " ".repeat(9) + "drawn-at-5-10", `row 5 of the full screen:\n${full}`);
      assert.equal(lines.length, rows, `the drawing is not ${rows} rows:\n${full}`);
      assert.equal(lines[rows - 1], "bottom line");
      assert.ok(!full.includes("héllo"), `the shell's screen shows through the full-screen program:\n${full}`);
      await page.keyboard.press("q");
      await waitForScreen(page, "controlplane", "the shell's screen again", (l) => l.includes("back-from-full-screen") && l.includes("héllo 世界 ✓"));
      assert.equal(await activeScreen(page, "controlplane"), "normal");
    });

    await step("selected text is copied with Ctrl+Shift+C and pasted with Ctrl+Shift+V", async () => {
      await typeInto(page, "controlplane", "echo copy-$((40+2))-me");
      const screen = await waitForScreen(page, "controlplane", "copy-42-me", (l) => l.includes("copy-42-me"));
      // Double-click the word where xterm.js drew it, as a learner would.
      const row = rowOf(screen, "copy-42-me");
      const top = await page.evaluate((y) => y - window.playlab.terminal("controlplane").buffer.active.viewportY, row);
      const { cols, rows } = await page.evaluate(() => window.playlab.size("controlplane"));
      const box = await page.locator('.term-panel[data-node="controlplane"] .xterm-screen').boundingBox();
      await page.mouse.dblclick(box.x + (3.5 * box.width) / cols, box.y + ((top + 0.5) * box.height) / rows);
      assert.equal(await page.evaluate(() => window.playlab.terminal("controlplane").getSelection()), "copy-42-me");
      await page.evaluate(() => navigator.clipboard.writeText("not copied"));
      await page.keyboard.press("Control+Shift+C");
      // The copy is asynchronous (the Clipboard API returns a promise): poll briefly.
      const deadline = Date.now() + 3000;
      let clipboard = await page.evaluate(() => navigator.clipboard.readText());
      while (clipboard !== "copy-42-me" && Date.now() < deadline) {
        await page.waitForTimeout(50);
        clipboard = await page.evaluate(() => navigator.clipboard.readText());
      }
      assert.equal(clipboard, "copy-42-me", "Ctrl+Shift+C did not copy the selection");
      await page.keyboard.type("echo pasted:");
      await page.keyboard.press("Control+Shift+V");
      await page.keyboard.press("Enter");
      await waitForScreen(page, "controlplane", "the pasted word echoed", (l) => l.includes("pasted:copy-42-me"));
    });

    await step("keyboard users leave the terminal with Ctrl+Shift+M, Tab; otherwise Tab completes", async () => {
      const tabMode = page.locator("#tab-mode");
      assert.match(await tabMode.innerText(), /Tab moves focus\s*Ctrl\+Shift\+M/);
      await page.locator('.term-panel[data-node="controlplane"] .xterm').click();
      await page.keyboard.press("Control+Shift+M");
      assert.equal(await tabMode.getAttribute("aria-pressed"), "true");
      assert.equal(await page.locator("#tab-mode + [role=status]").innerText(), "Tab moves focus: on", "screen readers are not told");
      // Forward to the switch after the terminals, back to the node's tab before them.
      for (const { key, lands } of [
        { key: "Tab", lands: { inTerminal: false, id: "tab-mode", label: "" } },
        { key: "Shift+Tab", lands: { inTerminal: false, id: "tab-controlplane", label: "" } },
      ]) {
        await page.locator('.term-panel[data-node="controlplane"] .xterm').click();
        assert.equal((await focused(page)).inTerminal, true, "clicking the terminal did not focus it");
        await page.keyboard.press(key);
        assert.deepEqual(await focused(page), lands, `${key} from the terminal`);
      }
      // The way back in and the switch back off work from the keyboard too.
      await page.keyboard.press("Tab");
      assert.equal((await focused(page)).inTerminal, true, "Tab from the node's tab did not enter the terminal");
      await page.keyboard.press("Control+Shift+M");
      assert.equal(await tabMode.getAttribute("aria-pressed"), "false");
      await page.keyboard.type("ech");
      await page.keyboard.press("Tab");
      await page.keyboard.type("tab-completed-$((6*7))");
      await page.keyboard.press("Enter");
      assert.equal((await focused(page)).inTerminal, true, "Tab left the terminal while the switch was off");
      await waitForScreen(page, "controlplane", "the command bash completed", (l) => l.includes("tab-completed-42"));
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

    await step("the hint stays closed until asked for and opens by click and by keyboard", async () => {
      const hint = page.locator('[data-step="0"] > details.hint');
      const summary = hint.locator("summary");
      const body = hint.locator(".prose");
      const isOpen = () => hint.evaluate((d) => d.open);
      assert.equal(await hint.count(), 1, "step 1 offers no hint");
      assert.equal(await isOpen(), false);
      assert.equal(await body.isVisible(), false, "the hint shows before it is asked for");
      assert.equal((await summary.innerText()).trim(), "Show hint");
      await summary.click();
      assert.equal(await isOpen(), true);
      assert.equal(await body.isVisible(), true, "the opened hint is not visible");
      assert.equal((await summary.innerText()).trim(), "Hide hint");
      // Rendered on the server like the step text: code and bold, not Markdown markers.
      assert.equal(await body.locator("p code").innerText(), "/root/marker");
      assert.equal(await body.locator("p strong").innerText(), "controlplane");
      assert.ok(!(await body.innerText()).includes("**"), await body.innerText());
      await summary.click();
      assert.equal(await body.isVisible(), false, "a second click does not close the hint");
      // From the keyboard: Tab reaches it right after the step text, Enter and Space toggle it.
      await page.locator('[data-step="0"] > .prose .code-copy').last().focus();
      await page.keyboard.press("Tab");
      assert.equal(await summary.evaluate((s) => s === document.activeElement), true, "Tab after the step text does not reach the hint");
      await page.keyboard.press("Enter");
      assert.equal(await isOpen(), true, "Enter does not open the hint");
      await page.screenshot({ path: path.join(SHOTS, "hint.png"), animations: "disabled" });
      await page.keyboard.press("Space");
      assert.equal(await isOpen(), false, "Space does not close the hint");
    });

    await step("Check shows the failure message, the check's output and the hint", async () => {
      await page.locator("[data-testid=check]").click();
      const result = page.locator(".check-result.fail");
      await result.waitFor();
      const text = await result.innerText();
      assert.ok(text.includes("Create the file /root/marker on controlplane."), `no fail message: ${text}`);
      assert.ok(text.includes("no /root/marker on controlplane yet"), `no check output: ${text}`);
      const hint = result.locator("details.hint");
      assert.equal(await hint.evaluate((d) => d.open), false, "the failed check opens the hint by itself");
      await hint.locator("summary").click();
      assert.match(await hint.locator(".prose").innerText(), /any command that creates an empty file there will do/);
      await page.screenshot({ path: path.join(SHOTS, "hint-failed-check.png"), animations: "disabled" });
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
      // The step and its result are taller than this window: the instructions scroll,
      // the page itself never grows past the window (which would stretch the terminal).
      const height = await page.evaluate(() => ({ page: document.scrollingElement.scrollHeight, window: innerHeight }));
      assert.ok(height.page <= height.window, `the page is ${height.page}px tall in a ${height.window}px window`);
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
      assert.equal(await page.locator("details.hint").count(), 0, "a step without a hint offers one");
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
      // A read-only terminal has no shell to complete in: Tab always moves on.
      await admin.locator(".watch .xterm").click();
      assert.equal((await focused(admin)).inTerminal, true, "clicking the watched terminal did not focus it");
      await admin.keyboard.press("Shift+Tab");
      assert.deepEqual(await focused(admin), { inTerminal: false, id: "", label: "Close" }, "Shift+Tab from the watched terminal");
      await admin.screenshot({ path: path.join(SHOTS, "dashboard.png"), animations: "disabled" });
      await admin.close();
    });

    await step("help mode: the learner sees the instructor watching and lets them type", async () => {
      // The instructor in a browser of their own: in the learner's, the dashboard would
      // carry the learner's cookie and be the learner.
      const instructorProfile = await mkdtemp(path.join(os.tmpdir(), "playlab-chromium-"));
      const instructor = await launch(instructorProfile);
      try {
        // A second learner (a client without cookies is a new learner), so the
        // instructor picks one of two.
        const other = await fetch(BASE + "/api/sessions", {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ lesson: LESSON }),
        });
        const otherSession = await other.json();
        assert.equal(other.status, 201, JSON.stringify(otherSession));
        const admin = instructor.pages()[0] ?? (await instructor.newPage());
        await admin.goto(BASE + "/dashboard");
        await admin.locator("#admin-token").fill(ADMIN_TOKEN);
        await admin.locator("#admin-token").press("Enter");
        await admin.locator(`tr[data-session="${otherSession.id}"]`).waitFor();
        await admin.locator(`tr[data-session="${sessionId}"]`).getByRole("button", { name: /Watch controlplane/ }).click();
        await admin.locator(".watch .terminal-host[data-state=connected]").waitFor();
        // What the learner types shows in the live view within a second.
        await typeInto(page, "controlplane", "echo live-$((6*7))");
        const typed = Date.now();
        await waitForScreen(admin, "controlplane", "the learner's command", (l) => l.includes("live-42"), 1000);
        console.log(`live view: the learner's command on the instructor's screen after ${Date.now() - typed} ms`);
        await helpMode(admin);
        await instructor.close();
        await page.locator('[data-testid="watched"]').waitFor({ state: "detached" });
      } finally {
        await instructor.close().catch(() => {});
        await rm(instructorProfile, { recursive: true, force: true });
      }
    });

    async function helpMode(admin) {
      await page.locator('[data-testid="watched"]', { hasText: "An instructor is watching" }).waitFor();
      const mode = admin.locator('[data-testid="watch-mode"]');
      await admin.locator(".watch .xterm").click();
      await admin.keyboard.type("echo refused-$((6*7))");
      await admin.keyboard.press("Enter");
      await page.locator('[data-testid="help-toggle"]', { hasText: "Let the instructor type" }).click();
      await mode.filter({ hasText: "help mode" }).waitFor();
      await admin.locator(".watch .xterm").click();
      await admin.keyboard.type("echo helped-$((6*7))");
      await admin.keyboard.press("Enter");
      await waitForScreen(page, "controlplane", "the instructor's command", (l) => l.includes("helped-42"));
      await page.locator('[data-testid="help-toggle"]', { hasText: "Stop the instructor typing" }).click();
      await mode.filter({ hasText: "read-only" }).waitFor();
      const screen = await page.evaluate(() => window.playlab.screen("controlplane"));
      assert.ok(!screen.includes("refused-42"), `typed before help was granted, yet it ran:\n${screen}`);
    }

    await step("the dashboard replays the learner's recording with the check marked", async () => {
      const admin = await context.newPage();
      admin.on("request", (r) => {
        const url = new URL(r.url());
        if (!["data:", "blob:"].includes(url.protocol) && url.origin !== BASE) foreign.push(r.url());
      });
      admin.on("pageerror", (e) => pageErrors.push(String(e)));
      await admin.goto(BASE + "/dashboard");
      const row = admin.locator(`tr[data-session="${sessionId}"]`);
      await row.getByRole("button", { name: /Recordings of/ }).click();
      await admin.locator('.recordings tr[data-recording="controlplane.1.cast"]').getByRole("button", { name: /Play/ }).click();
      await admin.locator(".replay-player .ap-wrapper").waitFor();
      const markers = await admin.evaluate(() => window.playlabReplay.markers());
      assert.ok(markers.some((m) => /^check step 1 ".*": pass$/.test(m)), `markers: ${markers.join(" | ")}`);
      await admin.locator(".replay-markers li button").first().waitFor();
      // It plays: the player's clock moves.
      await admin.waitForFunction(() => window.playlabReplay.player.getCurrentTime() > 0, null, { timeout: 10_000 });
      await admin.screenshot({ path: path.join(SHOTS, "replay.png"), animations: "disabled" });
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

test("a Chinese browser gets the interface and the lesson in Chinese, and the language switch", async (t) => {
  await mkdir(SHOTS, { recursive: true });
  const profile = await mkdtemp(path.join(os.tmpdir(), "playlab-chromium-"));
  const context = await launch(profile, "zh-CN");
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const eventStreams = [];
  page.on("request", (r) => new URL(r.url()).pathname.endsWith("/events") && eventStreams.push(r.url()));
  const step = stepper(t, page, "failure-zh.png");
  const stepTitle = page.locator('[data-step="0"] .step-title');
  const htmlLang = () => page.evaluate(() => document.documentElement.lang);
  let sessionId;

  try {
    await step("the catalog is in Chinese, the lesson's card too", async () => {
      await page.goto(BASE + "/");
      const card = page.locator(`[data-lesson="${LESSON}"]`);
      await card.waitFor();
      assert.equal(await htmlLang(), "zh-CN");
      assert.equal(await page.locator("#lang-switch").inputValue(), "zh");
      assert.equal((await page.locator(".hero h1").innerText()).trim(), "动手实验");
      assert.equal((await card.locator(".card-link").innerText()).trim(), "浏览器之旅");
      const text = await card.innerText();
      for (const want of ["入门", "5分钟", "2 个步骤", "开始"]) {
        assert.ok(text.includes(want), `card lacks "${want}": ${text}`);
      }
      // Title and description are translated: nothing on the card says otherwise.
      assert.equal(await card.locator(".translation-badge").count(), 0, text);
      // Why a lesson cannot run here is the server's code, said in Chinese.
      const unavailable = await page.locator('[data-lesson="needs-system-nodes"]').innerText();
      for (const want of ["在此服务器上不可用", "系统节点", "--allow-system-nodes"]) {
        assert.ok(unavailable.includes(want), `card lacks "${want}": ${unavailable}`);
      }
    });

    await step("the lesson page is in Chinese; the untranslated hint is English, marked", async () => {
      await page.locator(`[data-lesson="${LESSON}"] .card-link`).click();
      await page.waitForURL(`**/lessons/${LESSON}`);
      await page.locator('[role=tab][data-node="controlplane"][data-state="connected"]').waitFor({ timeout: READY_TIMEOUT });
      sessionId = await page.evaluate(() => window.playlab.session);
      assert.equal((await stepTitle.innerText()).trim(), "留下标记");
      assert.match(await page.locator('[data-step="0"] > .prose').innerText(), /这个代码块在第一个节点上运行/);
      assert.equal((await page.locator("[data-testid=check]").innerText()).trim(), "检查");
      assert.equal((await page.locator("[data-testid=run]").first().innerText()).trim(), "运行");
      assert.match(await page.locator(".step-kicker").innerText(), /第 1 步，共 2 步/);
      const hint = page.locator('[data-step="0"] > details.hint');
      assert.equal((await hint.locator("summary .untranslated-badge").innerText()).trim(), "英语原文（未翻译）");
      await hint.locator("summary").click();
      const body = hint.locator(".prose");
      assert.equal(await body.getAttribute("lang"), "en");
      assert.match(await body.innerText(), /any command that creates an empty file there will do/);
      assert.equal(await page.locator('[data-step="0"] .step-title .translation-badge').count(), 0, "a translated title is marked");
      // Server-sent events cannot send Accept-Language: the page asks with ?lang=.
      assert.ok(eventStreams.some((url) => new URL(url).searchParams.get("lang") === "zh"), eventStreams.join("\n"));
    });

    await step("a failed check says why in Chinese", async () => {
      await page.locator("[data-testid=check]").click();
      const result = page.locator(".check-result.fail");
      await result.waitFor();
      const text = await result.innerText();
      assert.ok(text.includes("还没完成"), `not the catalogue's words: ${text}`);
      assert.ok(text.includes("请在 controlplane 上创建文件 /root/marker。"), `not the translated fail message: ${text}`);
    });

    await step("Chinese typed in the terminal shows, each character two cells wide", async () => {
      await typeInto(page, "controlplane", "echo 你好，世界");
      const screen = await waitForScreen(page, "controlplane", "你好，世界", (l) => l.includes("你好，世界"));
      const got = (await cells(page, "controlplane", rowOf(screen, "你好，世界"), 0, 10)).map((c) => [c.chars, c.width]);
      assert.deepEqual(got, [["你", 2], ["", 0], ["好", 2], ["", 0], ["，", 2], ["", 0], ["世", 2], ["", 0], ["界", 2], ["", 0]]);
      // The step from its title, for the README's picture of a Chinese lesson.
      await page.locator(".instructions").evaluate((el) => el.scrollTo(0, 0));
      await page.screenshot({ path: path.join(SHOTS, "lesson-zh.png"), animations: "disabled" });
    });

    await step("switching to English shows the lesson and the catalog in English, and a reload keeps it", async () => {
      // The browser still says zh-CN: English text can only come from the page asking for it.
      await page.locator("#lang-switch").selectOption("en");
      await stepTitle.filter({ hasText: "Leave a marker" }).waitFor();
      assert.equal(await htmlLang(), "en");
      assert.equal((await page.locator("[data-testid=check]").innerText()).trim(), "Check");
      assert.equal(await page.locator('[data-step="0"] .untranslated-badge').count(), 0, "English is this lesson's own language");
      await page.goto(BASE + "/");
      const card = page.locator(`[data-lesson="${LESSON}"] .card-link`);
      await card.waitFor();
      assert.equal((await page.locator(".hero h1").innerText()).trim(), "Hands-on labs");
      assert.equal((await card.innerText()).trim(), "Browser tour");
      await page.reload();
      await card.waitFor();
      assert.equal((await page.locator(".hero h1").innerText()).trim(), "Hands-on labs");
      assert.equal((await card.innerText()).trim(), "Browser tour");
      assert.equal(await page.locator("#lang-switch").inputValue(), "en");
    });

    await step("the page threw no error", () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    if (sessionId) await page.evaluate((id) => fetch(`/api/sessions/${id}`, { method: "DELETE" }), sessionId).catch(() => {});
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
