// A class in a real browser (Debian's headless Chromium, playwright-core) against the
// real `playlab serve` that server/tests/browser.rs starts (same variables as
// e2e.test.mjs): the instructor creates a class on the dashboard, a learner joins
// with its code and a name, the instructor's live roster shows the name, then the
// learner's step and failed check, and a broadcast appears as a banner on the
// learner's lesson page.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { ADMIN_TOKEN, BASE, READY_TIMEOUT, SHOTS, browser } from "./support/browser.mjs";

test("a learner joins a class, the roster follows them, a broadcast reaches their lesson page", async () => {
  await mkdir(SHOTS, { recursive: true });
  const instructor = await browser();
  const learner = await browser();
  try {
    const admin = instructor.page;
    await admin.goto(BASE + "/dashboard");
    await admin.locator("#admin-token").fill(ADMIN_TOKEN);
    await admin.locator("#admin-token").press("Enter");
    await admin.locator("#class-name").fill("Browser class");
    await admin.locator('.class-lessons input[value="browser-tour"]').check();
    await admin.locator(".class-form button[type=submit]").click();
    const item = admin.locator(".class-item", { hasText: "Browser class" });
    await item.waitFor();
    const code = (await item.locator(".class-code code").innerText()).trim();
    assert.match(code, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
    await item.locator("a.class-name").click();
    await admin.locator("table.roster").waitFor();

    const page = learner.page;
    await page.goto(`${BASE}/join?code=${code}`);
    await page.locator("#display-name").fill("Ada Lovelace");
    await page.locator(".class-join button[type=submit]").click();
    await page.waitForURL(BASE + "/class");
    await page.locator(".card-link", { hasText: "Browser tour" }).waitFor();

    // The roster is live: the name appears without a reload.
    const row = admin.locator('tr[data-learner="Ada Lovelace"]');
    await row.waitFor({ timeout: 5_000 });

    // The learner starts the class's lesson and fails its first check: the roster
    // shows the step, the check and its message.
    await page.locator(".card-link", { hasText: "Browser tour" }).click();
    await page.waitForURL("**/lessons/browser-tour");
    await page.locator('[role=tab][data-node="controlplane"][data-state="connected"]').waitFor({ timeout: READY_TIMEOUT });
    await page.locator("[data-testid=check]").click();
    await page.locator(".check-result.fail").waitFor();
    await admin.locator('tr[data-learner="Ada Lovelace"] td[data-col="attempts"]', { hasText: "1 (1 ✗)" }).waitFor({ timeout: 5_000 });
    assert.ok((await row.locator('td[data-col="step"]').innerText()).includes("Leave a marker"));
    assert.ok((await row.locator('td[data-col="last_failure"]').innerText()).includes("Create the file /root/marker"));
    await row.locator('td[data-col="connected"]', { hasText: "attached" }).waitFor({ timeout: 5_000 });
    await admin.screenshot({ path: path.join(SHOTS, "roster.png"), animations: "disabled" });

    // The grid shows the learner's terminal beside the others', live.
    await admin.locator("[data-testid=grid]").click();
    await admin.locator(".grid-tile .terminal-host[data-state=connected]").waitFor({ timeout: 10_000 });
    await page.locator('.term-panel[data-node="controlplane"] .xterm').click();
    await page.keyboard.type("echo in-the-grid-$((6*7))");
    await page.keyboard.press("Enter");
    await admin.waitForFunction(() => window.playlabGrid?.screens().some((t) => t.includes("in-the-grid-42")), null, { timeout: 5_000 });
    await admin.screenshot({ path: path.join(SHOTS, "roster-grid.png"), animations: "disabled" });

    // A broadcast shows on the learner's lesson page.
    await admin.locator("#broadcast").fill("Coffee break until 10:30");
    await admin.locator(".broadcast-form button[type=submit]").click();
    const banner = page.locator(".broadcast");
    await banner.waitFor({ state: "visible", timeout: 5_000 });
    assert.ok((await banner.innerText()).includes("Coffee break until 10:30"));
    await page.screenshot({ path: path.join(SHOTS, "broadcast.png"), animations: "disabled" });

    for (const b of [instructor, learner]) {
      assert.deepEqual(b.foreign, []);
      assert.deepEqual(b.errors, []);
    }
  } catch (e) {
    await learner.page.screenshot({ path: path.join(SHOTS, "classroom-learner-failure.png") }).catch(() => {});
    await instructor.page.screenshot({ path: path.join(SHOTS, "classroom-instructor-failure.png") }).catch(() => {});
    throw e;
  } finally {
    await instructor.close();
    await learner.close();
  }
});
