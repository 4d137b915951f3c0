// The instructor's classes: the dashboard's Classes section (create a class, the list
// with join codes) and a class's live roster (sortable, stuck learners highlighted,
// the per-step summary, CSV export, broadcast, watch/extend/end a learner's session).
// The roster arrives whole over SSE whenever it changes.

import { api, ApiError, type ClassInfo, type Roster, type RosterRow } from "../api";
import { clock, h, icon, relative, replace, toast } from "../dom";
import { frame, notice } from "../layout";
import type { Cleanup } from "../router";
import { TerminalGrid, Watcher } from "./watch";

/** Every string these pages show. */
const T = {
  classes: "Classes",
  classesLead: "Create a class, hand out its join code, watch its roster live.",
  noClasses: "No classes yet.",
  name: "Class name",
  lessons: "Lessons",
  startsAt: "Starts (optional)",
  endsAt: "Ends (optional)",
  capacity: "Places (optional)",
  create: "Create class",
  created: (name: string) => `Class ${name} created`,
  pickLesson: "Pick at least one lesson.",
  code: "Join code",
  members: (n: number, cap: number | null) => (cap ? `${n} / ${cap} learners` : `${n} learner${n === 1 ? "" : "s"}`),
  openRoster: "Roster",
  delete: "Delete",
  confirmDelete: (name: string) => `Delete the class ${name}? Its code stops working; running sessions go on.`,
  deleted: "Class deleted",
  back: "Dashboard",
  joinHint: (code: string) => `Learners open ${location.origin}/join and enter ${code}.`,
  summary: "Where the class is",
  notStarted: (n: number) => `${n} not started`,
  done: (n: number) => `${n} done`,
  stuckCount: (n: number) => `${n} stuck`,
  csv: "Download CSV",
  broadcast: "Message to the class",
  send: "Send",
  sent: "Message sent to the class",
  live: "live",
  reconnecting: "reconnecting…",
  empty: "Nobody has joined yet.",
  columns: {
    name: "Learner", lesson: "Lesson", step: "Step", attempts: "Checks", last_failure: "Last failure",
    time_on_step_seconds: "On step", last_activity: "Last activity", connected: "Terminal", status: "Status",
  } as Record<string, string>,
  stuck: { no_progress: "stuck: no progress", failing_checks: "stuck: failing checks" },
  connected: "attached",
  away: "—",
  watch: "Watch",
  grid: "Grid of terminals",
  closeGrid: "Close the grid",
  nobodyReady: "No learner has a ready environment to show.",
  resetStep: "Reset step",
  resetLesson: "Reset lesson",
  confirmReset: (name: string, to: string) =>
    `Reset ${name}'s environment to the start of the ${to}? Their machines are made afresh${to === "step" ? " and earlier steps' solutions replayed" : ""}.`,
  resetting: "Environment resetting",
  extend: "Extend",
  extended: "Session extended",
  end: "End",
  confirmEnd: (name: string) => `End ${name}'s session? Their machines are destroyed.`,
  ended: "Session ended",
  notFound: "No such class",
};

/** The dashboard's Classes section; `titles` maps lesson ids to titles. */
export function classesSection(titles: Map<string, string>): HTMLElement {
  const list = h("ul", { class: "class-list" });
  const refresh = async () => {
    try {
      const classes = await api.classes();
      replace(list, classes.length ? classes.map((c) => classItem(c, titles, refresh)) : h("li", { class: "muted" }, T.noClasses));
    } catch (e) {
      replace(list, h("li", { class: "form-error" }, (e as Error).message));
    }
  };
  const section = h("section", { class: "classes", "aria-labelledby": "classes-title" },
    h("div", { class: "hero hero-small" }, h("h1", { id: "classes-title" }, T.classes), h("p", { class: "muted" }, T.classesLead)),
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
    h("label", { for: "class-name" }, T.name), name,
    h("fieldset", { class: "class-lessons" }, h("legend", null, T.lessons),
      [...titles].map(([, title], i) => h("label", { class: "check-label" }, boxes[i], title))),
    h("label", { for: "class-starts" }, T.startsAt), startsAt,
    h("label", { for: "class-ends" }, T.endsAt), endsAt,
    h("label", { for: "class-capacity" }, T.capacity), capacity,
    h("button", { type: "submit", class: "btn btn-primary" }, T.create), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const lessons = boxes.filter((b) => b.checked).map((b) => b.value);
    if (lessons.length === 0) return void (error.textContent = T.pickLesson);
    try {
      const c = await api.createClass({
        name: name.value, lessons, starts_at: utc(startsAt), ends_at: utc(endsAt),
        capacity: capacity.value ? Number(capacity.value) : undefined,
      });
      error.textContent = "";
      form.reset();
      toast(T.created(c.name), "success");
      created();
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  });
  return form;
}

function classItem(c: ClassInfo, titles: Map<string, string>, changed: () => void): HTMLElement {
  return h("li", { class: "class-item", "data-class": c.id },
    h("div", null,
      h("a", { href: `/dashboard/classes/${c.id}`, class: "class-name" }, c.name),
      h("p", { class: "muted" }, c.lessons.map((l) => titles.get(l) ?? l).join(" · "), " · ", T.members(c.members, c.capacity))),
    h("div", { class: "class-code", title: T.code }, h("span", { class: "sr-only" }, T.code), h("code", null, c.code)),
    h("div", { class: "row-actions" },
      h("a", { href: `/dashboard/classes/${c.id}`, class: "btn btn-small" }, T.openRoster),
      h("button", {
        type: "button", class: "btn btn-small btn-danger",
        onclick: async () => {
          if (!confirm(T.confirmDelete(c.name))) return;
          try {
            await api.deleteClass(c.id);
            toast(T.deleted, "success");
          } catch (e) {
            toast((e as Error).message, "error");
          }
          changed();
        },
      }, icon("stop"), T.delete)));
}

type SortKey = keyof RosterRow;

/** `/dashboard/classes/:id`: the class's live roster. */
export function rosterPage(root: HTMLElement, params: Record<string, string>): Cleanup {
  const id = params.id;
  const main = frame(root, { actions: [h("a", { href: "/dashboard", class: "btn btn-ghost" }, T.back)], pageClass: "dashboard" });
  let events: EventSource | null = null;
  let watcher: Watcher | TerminalGrid | null = null;
  let roster: Roster | null = null;
  let sort: { key: SortKey; up: boolean } = { key: "name", up: true };

  const state = h("span", { class: "muted", "aria-live": "polite" });
  const summary = h("div", { class: "roster-summary" });
  const head = h("tr");
  const body = h("tbody");
  const watchHost = h("div", { class: "watch-host" });

  const cell = (r: RosterRow, key: string): Node | string => {
    switch (key) {
      case "lesson": return roster?.summary.find((l) => l.lesson === r.lesson)?.title ?? r.lesson ?? T.away;
      case "step": return r.completed ? "✓" : r.step === null ? T.away : `${r.step + 1} / ${r.steps ?? "?"} ${r.step_title ?? ""}`;
      case "attempts": return r.failed_in_a_row ? `${r.attempts} (${r.failed_in_a_row} ✗)` : String(r.attempts);
      case "time_on_step_seconds": return r.time_on_step_seconds === null ? T.away : clock(r.time_on_step_seconds);
      case "last_activity": return r.last_activity ? relative(r.last_activity) : T.away;
      case "connected": return r.connected ? T.connected : T.away;
      case "status": return r.status ? h("span", { class: `status status-${r.status}` }, r.status) : T.away;
      default: return String((r as any)[key] ?? T.away);
    }
  };

  const actions = (r: RosterRow): Node[] => {
    if (!r.session || r.status === "ended") return [];
    const sid = r.session;
    const act = (label: string, run: () => Promise<unknown>, done: string, danger = false) =>
      h("button", {
        type: "button", class: `btn btn-small${danger ? " btn-danger" : ""}`, "aria-label": `${label} ${r.name}`,
        onclick: async () => {
          try { await run(); toast(done, "success"); } catch (e) { toast((e as Error).message, "error"); }
        },
      }, label);
    return [
      r.status === "ready" ? h("button", {
        type: "button", class: "btn btn-small", "aria-label": `${T.watch} ${r.name}`,
        onclick: async () => {
          const session = await api.session(sid);
          watcher?.dispose();
          watcher = new Watcher(watchHost, sid, r.name, session.nodes[0], () => (watcher = null));
        },
      }, icon("eye"), T.watch) : null,
      r.status === "ready" ? act(T.resetStep, async () => {
        if (confirm(T.confirmReset(r.name, "step"))) await api.resetSession(sid, "step");
      }, T.resetting) : null,
      r.status === "ready" ? act(T.resetLesson, async () => {
        if (confirm(T.confirmReset(r.name, "lesson"))) await api.resetSession(sid, "lesson");
      }, T.resetting) : null,
      act(T.extend, () => api.extend(sid), T.extended),
      act(T.end, async () => { if (confirm(T.confirmEnd(r.name))) await api.endSession(sid); }, T.ended, true),
    ].filter((n): n is HTMLButtonElement => n !== null);
  };

  const render = () => {
    if (!roster) return;
    const r = roster;
    replace(summary,
      h("h2", null, T.summary),
      h("p", { class: "muted" }, T.notStarted(r.not_started)),
      r.summary.map((lesson) => h("div", { class: "summary-lesson" },
        h("h3", null, lesson.title),
        h("ol", { class: "summary-steps" },
          lesson.steps.map((s) => h("li", { class: s.stuck ? "has-stuck" : null },
            h("span", null, s.title), h("strong", null, String(s.learners)),
            s.stuck ? h("span", { class: "badge badge-advanced" }, T.stuckCount(s.stuck)) : null))),
        h("p", { class: "muted" }, T.done(lesson.completed)))));
    replace(head, Object.entries(T.columns).map(([key, label]) =>
      h("th", { scope: "col", "aria-sort": sort.key === key ? (sort.up ? "ascending" : "descending") : null },
        h("button", {
          type: "button", class: "sort", "data-sort": key,
          onclick: () => { sort = { key: key as SortKey, up: sort.key === key ? !sort.up : true }; render(); },
        }, label))), h("th", { scope: "col" }, ""));
    const rows = [...r.learners].sort((a, b) => {
      const x = a[sort.key] ?? "", y = b[sort.key] ?? "";
      const order = x < y ? -1 : x > y ? 1 : 0;
      return sort.up ? order : -order;
    });
    if (rows.length === 0) {
      replace(body, h("tr", null, h("td", { colspan: "10", class: "empty" }, T.empty)));
      return;
    }
    replace(body, rows.map((row) =>
      h("tr", { class: row.stuck ? "stuck" : null, "data-learner": row.name },
        Object.keys(T.columns).map((key) => h("td", { "data-col": key },
          cell(row, key),
          key === "name" && row.stuck ? h("span", { class: "badge badge-advanced" }, T.stuck[row.stuck]) : null)),
        h("td", { class: "row-actions" }, actions(row)))));
  };

  /** Every learner with a ready environment, their first node, in the grid. */
  const openGrid = async () => {
    const ready = (roster?.learners ?? []).filter((r) => r.session && r.status === "ready");
    if (ready.length === 0) return toast(T.nobodyReady, "info");
    const entries = await Promise.all(ready.map(async (r) => {
      const session = await api.session(r.session!);
      return { session: r.session!, who: r.name, node: session.nodes[0] };
    }));
    watcher?.dispose();
    watcher = new TerminalGrid(watchHost, entries, T.closeGrid, () => (watcher = null));
  };

  const message = h("input", { id: "broadcast", class: "input", maxlength: 280, required: true, autocomplete: "off" });
  const broadcastForm = h("form", { class: "join-form broadcast-form" },
    h("label", { for: "broadcast" }, T.broadcast), message, h("button", { type: "submit", class: "btn btn-primary" }, T.send));
  broadcastForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.broadcast(id, message.value);
      message.value = "";
      toast(T.sent, "success");
    } catch (e) {
      toast((e as Error).message, "error");
    }
  });

  api.classInfo(id).then((c) => {
    document.title = `${c.name} · playlab`;
    replace(main,
      h("section", { class: "hero hero-small" },
        h("h1", null, c.name, " ", h("code", { class: "class-code" }, c.code)),
        h("p", { class: "muted" }, T.joinHint(c.code), " ", state)),
      broadcastForm,
      summary,
      h("p", null, h("a", { href: `/api/classes/${id}/roster.csv`, class: "btn btn-small", download: "" }, T.csv),
        " ", h("button", { type: "button", class: "btn btn-small", "data-testid": "grid", onclick: openGrid }, icon("eye"), T.grid)),
      h("div", { class: "table-wrap" }, h("table", { class: "sessions roster" }, h("thead", null, head), body)),
      watchHost);
    events = new EventSource(`/api/classes/${id}/roster/events`);
    events.onmessage = (e) => {
      roster = JSON.parse(e.data) as Roster;
      state.textContent = `${T.live} · ${new Date().toLocaleTimeString()}`;
      render();
    };
    events.onerror = () => (state.textContent = T.reconnecting);
  }).catch((e) => {
    const status = e instanceof ApiError ? e.status : 0;
    replace(main, notice(status === 404 ? T.notFound : String(status), (e as Error).message));
  });

  return () => {
    events?.close();
    watcher?.dispose();
  };
}
