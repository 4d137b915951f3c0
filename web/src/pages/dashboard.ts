// The instructor dashboard: behind the admin token, the classes (see `classes.ts`), a
// live table of every session, ending a session, and watching any node's terminal
// read-only to help a learner.

import { api, ApiError, type LessonSummary, type Session } from "../api";
import { h, icon, relative, replace, toast } from "../dom";
import { frame, notice } from "../layout";
import type { Cleanup } from "../router";
import { classesSection } from "./classes";
import { Watcher } from "./watch";

const REFRESH_MS = 3000;

export function dashboardPage(root: HTMLElement): Cleanup {
  document.title = "Dashboard · playlab";
  const main = frame(root, { actions: [h("a", { href: "/", class: "btn btn-ghost" }, "Lessons")], pageClass: "dashboard" });
  let timer: number | undefined;
  let watcher: Watcher | null = null;
  let stopped = false;

  const table = h("tbody");
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const watchHost = h("div", { class: "watch-host" });
  let titles = new Map<string, string>();

  const refresh = async () => {
    try {
      const sessions = await api.adminSessions();
      if (stopped) return;
      render(sessions);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return login();
      summary.textContent = `Could not refresh: ${(e as Error).message}`;
    }
    if (!stopped) timer = window.setTimeout(refresh, REFRESH_MS);
  };

  const render = (sessions: Session[]) => {
    const live = sessions.filter((s) => s.status !== "ended");
    summary.textContent = `${live.length} live session${live.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
    if (sessions.length === 0) {
      replace(table, h("tr", null, h("td", { colspan: "7", class: "empty" }, "No sessions yet. When learners start lessons, they appear here.")));
      return;
    }
    replace(table, sessions.map((s) =>
      h("tr", { "data-session": s.id },
        h("td", null, h("code", null, s.learner.slice(0, 10))),
        h("td", null, titles.get(s.lesson) ?? s.lesson),
        h("td", null, s.completed ? "finished" : `${Math.min(s.step + 1, s.steps)} / ${s.steps}`),
        h("td", { title: s.created_at }, relative(s.created_at)),
        h("td", { title: s.expires_at }, s.status === "ended" ? "–" : relative(s.expires_at)),
        h("td", null, h("span", { class: `status status-${s.status}` }, s.status)),
        h("td", { class: "row-actions" },
          s.status === "ready"
            ? s.nodes.map((node) => h("button", {
                type: "button", class: "btn btn-small", "aria-label": `Watch ${node} of ${s.learner}`,
                onclick: () => { watcher?.dispose(); watcher = new Watcher(watchHost, s.id, s.learner.slice(0, 10), node, () => (watcher = null)); },
              }, icon("eye"), node))
            : null,
          s.status === "ready"
            ? [
                action(s, "Reset step", "refresh", "Reset this learner's environment to the start of their current step? Their machines are made afresh and earlier steps' solutions replayed.",
                  () => api.resetSession(s.id, "step"), "Environment resetting to the current step"),
                action(s, "Reset lesson", "refresh", "Reset this learner's environment to the start of the lesson? Their machines are made afresh.",
                  () => api.resetSession(s.id, "lesson"), "Environment resetting to the lesson start"),
              ]
            : null,
          s.status === "ended" ? null
            : action(s, "End", "stop", "End this session? The learner's machines are destroyed.", () => api.endSession(s.id), "Session ended", "btn-danger")))));
  };

  /** A button acting on a learner's session after a confirmation, then a refresh. */
  const action = (s: Session, label: string, glyph: Parameters<typeof icon>[0], question: string,
                  call: () => Promise<unknown>, done: string, extra = "") =>
    h("button", {
      type: "button", class: `btn btn-small ${extra}`, "aria-label": `${label}: session of ${s.learner}`,
      onclick: async () => {
        if (!confirm(question)) return;
        try {
          await call();
          toast(done, "success");
        } catch (e) {
          toast((e as Error).message, "error");
        }
        window.clearTimeout(timer);
        refresh();
      },
    }, icon(glyph), label);

  const show = async () => {
    titles = new Map((await api.lessons().catch(() => [] as LessonSummary[])).map((l) => [l.id, l.title]));
    replace(main,
      classesSection(titles),
      h("section", { class: "hero hero-small" }, h("h1", null, "Sessions"), summary),
      h("div", { class: "table-wrap" },
        h("table", { class: "sessions" },
          h("thead", null, h("tr", null, ["Learner", "Lesson", "Step", "Started", "Expires", "Status", ""].map((c) => h("th", { scope: "col" }, c)))),
          table)),
      watchHost);
    refresh();
  };

  const login = () => {
    const input = h("input", { id: "admin-token", type: "password", class: "input", autocomplete: "current-password", required: true });
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "join-form" },
      h("label", { for: "admin-token" }, "Admin token"), input,
      h("button", { type: "submit", class: "btn btn-primary" }, "Sign in"), error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api.adminLogin(input.value.trim());
        show();
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    });
    replace(main, notice("Instructor dashboard",
      "Sign in with the admin token (printed by `playlab serve` at its first start).", form));
    input.focus();
  };

  api.me().then((me) => (me.admin ? show() : login())).catch((e) => replace(main, notice("Could not load", String(e.message ?? e))));
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    watcher?.dispose();
  };
}
