// The instructor's classes: the dashboard's Classes section (create a class, the list
// with join codes) and a class's live roster (sortable, stuck learners highlighted,
// the per-step summary, CSV export, broadcast, watch/extend/end a learner's session).
// The roster arrives whole over SSE whenever it changes.

import { api, ApiError, errorText, withLang, type ClassInfo, type Roster, type RosterRow } from "../api";
import { h, icon, replace, toast } from "../dom";
import { formatClock, formatRelative, formatTimeOfDay, t, type TextKey } from "../i18n";
import { frame, notice, pageTitle } from "../layout";
import type { Cleanup } from "../router";
import { TerminalGrid, Watcher } from "./watch";

/** The roster's columns: the row's field and the column's name. */
const COLUMNS: [keyof RosterRow, TextKey][] = [
  ["name", "common.learner"], ["lesson", "common.lesson"], ["step", "common.step"], ["attempts", "roster.attempts"],
  ["last_failure", "roster.lastFailure"], ["time_on_step_seconds", "roster.onStep"], ["last_activity", "roster.lastActivity"],
  ["connected", "roster.terminal"], ["status", "common.status"],
];

const STUCK: Record<NonNullable<RosterRow["stuck"]>, TextKey> = {
  no_progress: "roster.stuckNoProgress",
  failing_checks: "roster.stuckFailingChecks",
};

/** What an empty cell shows. */
const AWAY = "—";

/** The dashboard's Classes section; `titles` maps lesson ids to titles. */
export function classesSection(titles: Map<string, string>): HTMLElement {
  const list = h("ul", { class: "class-list" });
  const refresh = async () => {
    try {
      const classes = await api.classes();
      replace(list, classes.length ? classes.map((c) => classItem(c, titles, refresh)) : h("li", { class: "muted" }, t("classes.none")));
    } catch (e) {
      replace(list, h("li", { class: "form-error" }, errorText(e)));
    }
  };
  const section = h("section", { class: "classes", "aria-labelledby": "classes-title" },
    h("div", { class: "hero hero-small" }, h("h1", { id: "classes-title" }, t("classes.title")), h("p", { class: "muted" }, t("classes.lead"))),
    createForm(titles, refresh), list);
  refresh();
  return section;
}

function createForm(titles: Map<string, string>, created: () => void): HTMLElement {
  const name = h("input", { id: "class-name", class: "input", required: true, maxlength: 80, autocomplete: "off" });
  const boxes = [...titles].map(([id, title]) => h("input", { type: "checkbox", value: id, name: "lessons", "aria-label": title }));
  const startsAt = h("input", { id: "class-starts", class: "input", type: "datetime-local" });
  const endsAt = h("input", { id: "class-ends", class: "input", type: "datetime-local" });
  const capacity = h("input", { id: "class-capacity", class: "input input-short", type: "number", min: 1 });
  const error = h("p", { class: "form-error", role: "alert" });
  // `datetime-local` is the browser's local time; the API takes UTC.
  const utc = (input: HTMLInputElement) => (input.value ? new Date(input.value).toISOString().replace(/\.\d+Z$/, "Z") : undefined);
  const form = h("form", { class: "class-form" },
    h("label", { for: "class-name" }, t("classes.name")), name,
    h("fieldset", { class: "class-lessons" }, h("legend", null, t("common.lessons")),
      [...titles].map(([, title], i) => h("label", { class: "check-label" }, boxes[i], title))),
    h("label", { for: "class-starts" }, t("classes.startsAt")), startsAt,
    h("label", { for: "class-ends" }, t("classes.endsAt")), endsAt,
    h("label", { for: "class-capacity" }, t("classes.capacity")), capacity,
    h("button", { type: "submit", class: "btn btn-primary" }, t("classes.create")), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const lessons = boxes.filter((b) => b.checked).map((b) => b.value);
    if (lessons.length === 0) return void (error.textContent = t("classes.pickLesson"));
    try {
      const c = await api.createClass({
        name: name.value, lessons, starts_at: utc(startsAt), ends_at: utc(endsAt),
        capacity: capacity.value ? Number(capacity.value) : undefined,
      });
      error.textContent = "";
      form.reset();
      toast(t("classes.created", c.name), "success");
      created();
    } catch (e) {
      error.textContent = errorText(e);
    }
  });
  return form;
}

function classItem(c: ClassInfo, titles: Map<string, string>, changed: () => void): HTMLElement {
  return h("li", { class: "class-item", "data-class": c.id },
    h("div", null,
      h("a", { href: `/dashboard/classes/${c.id}`, class: "class-name" }, c.name),
      h("p", { class: "muted" }, c.lessons.map((l) => titles.get(l) ?? l).join(" · "), " · ",
        c.capacity ? t("classes.membersOf", c.members, c.capacity) : t("classes.members", c.members))),
    h("div", { class: "class-code", title: t("common.joinCode") }, h("span", { class: "sr-only" }, t("common.joinCode")), h("code", null, c.code)),
    h("div", { class: "row-actions" },
      h("a", { href: `/dashboard/classes/${c.id}`, class: "btn btn-small" }, t("classes.roster")),
      h("button", {
        type: "button", class: "btn btn-small btn-danger",
        onclick: async () => {
          if (!confirm(t("classes.confirmDelete", c.name))) return;
          try {
            await api.deleteClass(c.id);
            toast(t("classes.deleted"), "success");
          } catch (e) {
            toast(errorText(e), "error");
          }
          changed();
        },
      }, icon("stop"), t("classes.delete"))));
}

type SortKey = keyof RosterRow;

/** `/dashboard/classes/:id`: the class's live roster. */
export function rosterPage(root: HTMLElement, params: Record<string, string>): Cleanup {
  const id = params.id;
  pageTitle(t("classes.roster"));
  const main = frame(root, { actions: [h("a", { href: "/dashboard", class: "btn btn-ghost" }, t("common.dashboard"))], pageClass: "dashboard" });
  let events: EventSource | null = null;
  let watcher: Watcher | TerminalGrid | null = null;
  let roster: Roster | null = null;
  let sort: { key: SortKey; up: boolean } = { key: "name", up: true };

  const state = h("span", { class: "muted", "aria-live": "polite" });
  const summary = h("div", { class: "roster-summary" });
  const head = h("tr");
  const body = h("tbody");
  const watchHost = h("div", { class: "watch-host" });

  const cell = (r: RosterRow, key: keyof RosterRow): Node | string => {
    switch (key) {
      case "lesson": return roster?.summary.find((l) => l.lesson === r.lesson)?.title ?? r.lesson ?? AWAY;
      case "step": return r.completed ? "✓" : r.step === null ? AWAY : `${r.step + 1} / ${r.steps ?? "?"} ${r.step_title ?? ""}`;
      case "attempts": return r.failed_in_a_row ? `${r.attempts} (${r.failed_in_a_row} ✗)` : String(r.attempts);
      case "time_on_step_seconds": return r.time_on_step_seconds === null ? AWAY : formatClock(r.time_on_step_seconds);
      case "last_activity": return r.last_activity ? formatRelative(r.last_activity) : AWAY;
      case "connected": return r.connected ? t("roster.attached") : AWAY;
      case "status": return r.status ? h("span", { class: `status status-${r.status}` }, t(`status.${r.status}`)) : AWAY;
      default: return String(r[key] ?? AWAY);
    }
  };

  const actions = (r: RosterRow): Node[] => {
    if (!r.session || r.status === "ended") return [];
    const sid = r.session;
    const act = (label: string, run: () => Promise<unknown>, done: string, danger = false) =>
      h("button", {
        type: "button", class: `btn btn-small${danger ? " btn-danger" : ""}`, "aria-label": t("roster.actionLabel", label, r.name),
        onclick: async () => {
          try { await run(); toast(done, "success"); } catch (e) { toast(errorText(e), "error"); }
        },
      }, label);
    return [
      r.status === "ready" ? h("button", {
        type: "button", class: "btn btn-small", "aria-label": t("roster.actionLabel", t("roster.watch"), r.name),
        onclick: async () => {
          const session = await api.session(sid);
          watcher?.dispose();
          watcher = new Watcher(watchHost, sid, r.name, session.nodes[0], () => (watcher = null));
        },
      }, icon("eye"), t("roster.watch")) : null,
      r.status === "ready" ? act(t("common.resetStep"), async () => {
        if (confirm(t("roster.confirmResetStep", r.name))) await api.resetSession(sid, "step");
      }, t("roster.resetting")) : null,
      r.status === "ready" ? act(t("common.resetLesson"), async () => {
        if (confirm(t("roster.confirmResetLesson", r.name))) await api.resetSession(sid, "lesson");
      }, t("roster.resetting")) : null,
      act(t("common.extend"), () => api.extend(sid), t("common.sessionExtended")),
      act(t("common.end"), async () => { if (confirm(t("roster.confirmEnd", r.name))) await api.endSession(sid); }, t("common.sessionEnded"), true),
    ].filter((n): n is HTMLButtonElement => n !== null);
  };

  const render = () => {
    if (!roster) return;
    const r = roster;
    replace(summary,
      h("h2", null, t("roster.summary")),
      h("p", { class: "muted" }, t("roster.notStarted", r.not_started)),
      r.summary.map((lesson) => h("div", { class: "summary-lesson" },
        h("h3", null, lesson.title),
        h("ol", { class: "summary-steps" },
          lesson.steps.map((s) => h("li", { class: s.stuck ? "has-stuck" : null },
            h("span", null, s.title), h("strong", null, String(s.learners)),
            s.stuck ? h("span", { class: "badge badge-advanced" }, t("roster.stuckCount", s.stuck)) : null))),
        h("p", { class: "muted" }, t("roster.done", lesson.completed)))));
    replace(head, COLUMNS.map(([key, label]) =>
      h("th", { scope: "col", "aria-sort": sort.key === key ? (sort.up ? "ascending" : "descending") : null },
        h("button", {
          type: "button", class: "sort", "data-sort": key,
          onclick: () => { sort = { key, up: sort.key === key ? !sort.up : true }; render(); },
        }, t(label)))), h("th", { scope: "col" }, ""));
    const rows = [...r.learners].sort((a, b) => {
      const x = a[sort.key] ?? "", y = b[sort.key] ?? "";
      const order = x < y ? -1 : x > y ? 1 : 0;
      return sort.up ? order : -order;
    });
    if (rows.length === 0) {
      replace(body, h("tr", null, h("td", { colspan: "10", class: "empty" }, t("roster.empty"))));
      return;
    }
    replace(body, rows.map((row) =>
      h("tr", { class: row.stuck ? "stuck" : null, "data-learner": row.name },
        COLUMNS.map(([key]) => h("td", { "data-col": key },
          cell(row, key),
          key === "name" && row.stuck ? h("span", { class: "badge badge-advanced" }, t(STUCK[row.stuck])) : null)),
        h("td", { class: "row-actions" }, actions(row)))));
  };

  /** Every learner with a ready environment, their first node, in the grid. */
  const openGrid = async () => {
    const ready = (roster?.learners ?? []).filter((r) => r.session && r.status === "ready");
    if (ready.length === 0) return toast(t("roster.nobodyReady"), "info");
    const entries = await Promise.all(ready.map(async (r) => {
      const session = await api.session(r.session!);
      return { session: r.session!, who: r.name, node: session.nodes[0] };
    }));
    watcher?.dispose();
    watcher = new TerminalGrid(watchHost, entries, t("roster.closeGrid"), () => (watcher = null));
  };

  const message = h("input", { id: "broadcast", class: "input", maxlength: 280, required: true, autocomplete: "off" });
  const broadcastForm = h("form", { class: "join-form broadcast-form" },
    h("label", { for: "broadcast" }, t("roster.broadcast")), message, h("button", { type: "submit", class: "btn btn-primary" }, t("roster.send")));
  broadcastForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.broadcast(id, message.value);
      message.value = "";
      toast(t("roster.sent"), "success");
    } catch (e) {
      toast(errorText(e), "error");
    }
  });

  api.classInfo(id).then((c) => {
    pageTitle(c.name);
    replace(main,
      h("section", { class: "hero hero-small" },
        h("h1", null, c.name, " ", h("code", { class: "class-code" }, c.code)),
        h("p", { class: "muted" }, t("roster.joinHint", `${location.origin}/join`, c.code), " ", state)),
      broadcastForm,
      summary,
      h("p", null, h("a", { href: withLang(`/api/classes/${id}/roster.csv`), class: "btn btn-small", download: "" }, t("roster.csv")),
        " ", h("button", { type: "button", class: "btn btn-small", "data-testid": "grid", onclick: openGrid }, icon("eye"), t("roster.grid"))),
      h("div", { class: "table-wrap" }, h("table", { class: "sessions roster" }, h("thead", null, head), body)),
      watchHost);
    events = new EventSource(withLang(`/api/classes/${id}/roster/events`));
    events.onmessage = (e) => {
      roster = JSON.parse(e.data) as Roster;
      state.textContent = t("roster.live", formatTimeOfDay(new Date()));
      render();
    };
    events.onerror = () => (state.textContent = t("roster.reconnecting"));
  }).catch((e) => {
    const notFound = e instanceof ApiError && e.status === 404;
    replace(main, notice(notFound ? t("classes.notFound") : t("classes.loadFailed"), errorText(e)));
  });

  return () => {
    events?.close();
    watcher?.dispose();
  };
}
