// The workbench lesson in a real browser (server/tests/browser.rs starts the server):
// its port tab shows a page served from the node; the editor, above the terminal as
// the lesson's `editor-terminal` layout says, opens a YAML file on the node, refuses to
// save over a change made in the terminal meanwhile, saves the learner's edit, and the
// step's check reads the saved file on the node.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { BASE, READY_TIMEOUT, SHOTS, browser, recordSession, stepper, typeInto, waitForScreen } from "./support/browser.mjs";

const LESSON = "workbench";
const FILE = "/root/manifests/web.yaml";

/** The text of the node's editor, as CodeMirror holds it. */
const editorText = (page) => page.locator(".editor .cm-content").innerText();

test("a port tab shows the node's page, and the editor's save is what the check reads", async (t) => {
  await mkdir(SHOTS, { recursive: true });
  const learner = await browser();
  const page = learner.page;
  const step = stepper(t, page, "workbench-failure.png");
  try {
    await step("the lesson opens with the editor above the terminal", async () => {
      await page.goto(`${BASE}/lessons/${LESSON}`);
      await page.locator('[role=tab][data-node="web"][data-state="connected"]').waitFor({ timeout: READY_TIMEOUT });
      await recordSession(await page.evaluate(() => window.playlab.session));
      // Split layout: the editor's tab and the terminal's are both shown.
      assert.equal(await page.locator('[role=tab][data-tab="editor:web"]').getAttribute("aria-selected"), "true");
      assert.equal(await page.locator('[role=tab][data-node="web"]').getAttribute("aria-selected"), "true");
      await page.locator('.editor[data-node="web"] .file-tree').waitFor();
    });

    await step("the port tab shows the page the node serves", async () => {
      await page.locator('[role=tab][data-port="web:8080"]').click();
      const frame = page.frameLocator('[data-testid="port-frame"]');
      // The setup starts the server in the background: until it listens, the tab
      // shows playlab's page that retries by itself.
      await frame.locator("#greeting").waitFor({ timeout: 30_000 });
      assert.equal(await frame.locator("#greeting").innerText(), "served by web");
    });

    await step("the step's traffic link points at the same port of this session", async () => {
      const link = page.locator(".prose a.traffic-link");
      const href = await link.getAttribute("href");
      const session = await page.evaluate(() => window.playlab.session);
      assert.equal(href, `/api/sessions/${session}/ports/web/8080?path=/`);
      const answer = await page.evaluate((u) => fetch(u).then(async (r) => ({ status: r.status, body: await r.text() })), href);
      assert.equal(answer.status, 200);
      assert.match(answer.body, /served by web/);
    });

    await step("the editor opens a YAML file from the node, highlighted", async () => {
      await page.locator('[role=tab][data-tab="editor:web"]').click();
      await page.locator('.file-dir[data-path="/root/manifests"]').click();
      await page.locator(`.file-leaf[data-path="${FILE}"]`).click();
      await page.locator(".editor .cm-content").waitFor();
      assert.match(await editorText(page), /replicas: 1/);
      assert.equal(await page.getByTestId("editor-path").innerText(), FILE);
      // CodeMirror's YAML mode marks up keys: more than plain text lines.
      assert.ok(await page.locator(".editor .cm-line span").count() > 0, "the YAML is not highlighted");
    });

    await step("a change made on the node meanwhile is not overwritten silently", async () => {
      await typeInto(page, "web", `echo '# touched in the terminal' >> ${FILE}; echo done-$((1+1))`);
      await waitForScreen(page, "web", "the append ran", (lines) => lines.includes("done-2"));
      await page.locator(".editor .cm-content").click();
      await page.keyboard.press("Control+End");
      await page.keyboard.type("\n# from the editor");
      await page.getByTestId("editor-save").click();
      await page.getByTestId("editor-conflict").waitFor();
      // The learner takes the node's version, which has the terminal's line.
      await page.getByTestId("editor-reload").click();
      await page.waitForFunction(() => document.querySelector(".editor .cm-content")?.textContent?.includes("touched in the terminal"));
    });

    await step("a failing check, then the saved edit passes it", async () => {
      await page.getByTestId("check").click();
      await page.locator(".check-result.fail").waitFor();
      // As a learner would: to the end of the line, the 1 out, a 3 in, Ctrl+S.
      await page.locator(".editor .cm-line", { hasText: "replicas: 1" }).click();
      await page.keyboard.press("End");
      await page.keyboard.press("Backspace");
      await page.keyboard.type("3");
      await page.keyboard.press("Control+s");
      await page.locator('[data-testid="editor-status"][data-kind="ok"]').waitFor();
      await typeInto(page, "web", `cat ${FILE}`);
      await waitForScreen(page, "web", "the saved file", (lines) => lines.includes("  replicas: 3"));
      await page.screenshot({ path: path.join(SHOTS, "workbench.png"), animations: "disabled" });
      await page.getByTestId("check").click();
      await page.locator(".check-result.pass").waitFor({ timeout: 20_000 });
    });

    await step("the page asked nothing of anyone but playlab and threw nothing", async () => {
      assert.deepEqual(learner.foreign, []);
      assert.deepEqual(learner.errors, []);
    });
  } finally {
    await learner.close();
  }
});
