// The instructor dashboard: behind the admin token, the classes (see `classes.ts`), a
// live table of every session, ending or resetting a session, watching any node's
// terminal (read-only unless the learner grants help), and replaying any session's
// recordings (live ones from the table, ended ones below it).

import { api, ApiError, errorText, failedText, type LessonSummary, type Session } from "../api";
import { h, icon, replace, toast } from "../dom";
import { formatDateTime, formatRelative, formatTimeOfDay, t } from "../i18n";
import { frame, notice, pageTitle, tableHead } from "../layout";
import type { Cleanup } from "../router";
import { classesSection } from "./classes";
import { RecordingsPanel } from "./recordings";
import { Watcher } from "./watch";

const REFRESH_MS = 3000;

export function dashboardPage(root: HTMLElement): Cleanup {
  pageTitle(t("common.dashboard"));
  const main = frame(root, { actions: [h("a", { href: "/", class: "btn btn-ghost" }, t("common.lessons"))], pageClass: "dashboard" });
  let timer: number | undefined;
  let watcher: Watcher | null = null;
  let replays: RecordingsPanel | null = null;
  let stopped = false;

  const table = h("tbody");
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const watchHost = h("div", { class: "watch-host" });
  const replayHost = h("div", { class: "watch-host" });
  const past = h("div", { class: "past-recordings" });
  const openRecordings = (session: string, title: string) => {
    replays?.dispose();
    replays = new RecordingsPanel(replayHost, session, title, () => (replays = null));
  };
  const recordingsButton = (session: string, learner: string | undefined) =>
    h("button", {
      type: "button", class: "btn btn-small", "aria-label": t("dashboard.recordingsOf", learner ?? session),
      onclick: () => openRecordings(session, (learner ?? session).slice(0, 10)),
    }, icon("play"), t("dashboard.recordings"));
  // Sessions that ended are gone from the table; their recordings are listed here,
  // on demand (listing reads every file).
  const listPast = async () => {
    try {
      const [all, sessions] = await Promise.all([api.allRecordings(), api.adminSessions()]);
      const live = new Set(sessions.map((s) => s.id));
      const ended = all.filter((r) => !live.has(r.session));
      replace(past,
        h("h2", null, t("dashboard.pastRecordings"), " ",
          h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: listPast }, icon("refresh"), t("common.refresh"))),
        ended.length === 0
          ? h("p", { class: "muted" }, t("dashboard.noPastRecordings"))
          : h("div", { class: "table-wrap" }, h("table", { class: "sessions" },
              tableHead(["common.learner", "common.lesson", "dashboard.files", null]),
              h("tbody", null, ended.map((r) => h("tr", { "data-session": r.session },
                h("td", null, h("code", null, (r.learner ?? r.session).slice(0, 10))),
                h("td", null, r.lesson ? titles.get(r.lesson) ?? r.lesson : "–"),
                h("td", null, String(r.recordings.length)),
                h("td", { class: "row-actions" }, recordingsButton(r.session, r.learner))))))));
    } catch (e) {
      replace(past, h("p", { class: "form-error" }, failedText(t("dashboard.listFailed"), e)));
    }
  };
  let titles = new Map<string, string>();

  const refresh = async () => {
    try {
      const sessions = await api.adminSessions();
      if (stopped) return;
      render(sessions);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return login();
      summary.textContent = failedText(t("dashboard.refreshFailed"), e);
    }
    if (!stopped) timer = window.setTimeout(refresh, REFRESH_MS);
  };

  const render = (sessions: Session[]) => {
    const live = sessions.filter((s) => s.status !== "ended");
    summary.textContent = t("dashboard.summary", live.length, formatTimeOfDay(new Date()));
    if (sessions.length === 0) {
      replace(table, h("tr", null, h("td", { colspan: "8", class: "empty" }, t("dashboard.empty"))));
      return;
    }
    replace(table, sessions.map((s) =>
      h("tr", { "data-session": s.id },
        h("td", null, h("code", null, s.learner.slice(0, 10))),
        h("td", null, titles.get(s.lesson) ?? s.lesson),
        h("td", null, s.completed ? t("dashboard.finished") : `${Math.min(s.step + 1, s.steps)} / ${s.steps}`),
        h("td", { title: formatDateTime(s.created_at) }, formatRelative(s.created_at)),
        h("td", { title: formatDateTime(s.expires_at) }, s.status === "ended" ? "–" : formatRelative(s.expires_at)),
        h("td", null, h("span", { class: `status status-${s.status}` }, t(`status.${s.status}`))),
        h("td", { "data-testid": "session-hosts" }, s.hosts?.join(", ") ?? "–"),
        h("td", { class: "row-actions" },
          s.status === "ready"
            ? s.nodes.map((node) => h("button", {
                type: "button", class: "btn btn-small", "aria-label": t("dashboard.watchLabel", node, s.learner),
                onclick: () => { watcher?.dispose(); watcher = new Watcher(watchHost, s.id, s.learner.slice(0, 10), node, () => (watcher = null)); },
              }, icon("eye"), node))
            : null,
          recordingsButton(s.id, s.learner),
          s.status === "ready"
            ? [
                action(s, t("common.resetStep"), "refresh", t("dashboard.confirmResetStep"),
                  () => api.resetSession(s.id, "step"), t("dashboard.resettingStep")),
                action(s, t("common.resetLesson"), "refresh", t("dashboard.confirmResetLesson"),
                  () => api.resetSession(s.id, "lesson"), t("dashboard.resettingLesson")),
              ]
            : null,
          s.status === "ended" ? null
            : action(s, t("common.end"), "stop", t("dashboard.confirmEnd"), () => api.endSession(s.id), t("common.sessionEnded"), "btn-danger")))));
  };

  /** A button acting on a learner's session after a confirmation, then a refresh. */
  const action = (s: Session, label: string, glyph: Parameters<typeof icon>[0], question: string,
                  call: () => Promise<unknown>, done: string, extra = "") =>
    h("button", {
      type: "button", class: `btn btn-small ${extra}`, "aria-label": t("dashboard.actionLabel", label, s.learner),
      onclick: async () => {
        if (!confirm(question)) return;
        try {
          await call();
          toast(done, "success");
        } catch (e) {
          toast(errorText(e), "error");
        }
        window.clearTimeout(timer);
        refresh();
      },
    }, icon(glyph), label);

  const show = async () => {
    titles = new Map((await api.lessons().catch(() => [] as LessonSummary[])).map((l) => [l.id, l.title]));
    replace(main,
      classesSection(titles),
      h("section", { class: "hero hero-small" }, h("h1", null, t("dashboard.sessions")), summary),
      h("div", { class: "table-wrap" },
        h("table", { class: "sessions" },
          tableHead(["common.learner", "common.lesson", "common.step", "common.started", "dashboard.expires", "common.status", "dashboard.hosts", null]),
          table)),
      watchHost, replayHost, past);
    refresh();
    listPast();
  };

  const login = () => {
    const input = h("input", { id: "admin-token", type: "password", class: "input", autocomplete: "current-password", required: true });
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "join-form" },
      h("label", { for: "admin-token" }, t("dashboard.token")), input,
      h("button", { type: "submit", class: "btn btn-primary" }, t("dashboard.signIn")), error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api.adminLogin(input.value.trim());
        show();
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
    replace(main, notice(t("dashboard.title"), t("dashboard.signInLead"), form));
    input.focus();
  };

  api.me().then((me) => (me.admin ? show() : login())).catch((e) => replace(main, notice(t("dashboard.loadFailed"), errorText(e))));
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    watcher?.dispose();
    replays?.dispose();
  };
}
