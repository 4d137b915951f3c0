// The catalog: every lesson as a card, a tag filter, and a "resume" badge on lessons
// where this learner has a live session.

import { api, type LessonSummary, type Session } from "../api";
import { h, icon, replace } from "../dom";
import { frame, notice } from "../layout";
import { ensureLearner } from "./join";

export function catalogPage(root: HTMLElement): void {
  document.title = "Lessons · playlab";
  const main = frame(root, {
    actions: [h("a", { href: "/dashboard", class: "btn btn-ghost" }, "Dashboard")],
    pageClass: "catalog",
  });
  main.append(h("div", { class: "loading", "aria-busy": "true" }, "Loading lessons…"));
  load(main).catch((e) => replace(main, notice("Could not load the lessons", String(e.message ?? e))));
}

async function load(main: HTMLElement): Promise<void> {
  await ensureLearner(main);
  const [lessons, sessions] = await Promise.all([
    api.lessons(),
    api.mySessions().catch(() => [] as Session[]),
  ]);
  const live = new Map(
    sessions.filter((s) => s.status === "starting" || s.status === "ready").map((s) => [s.lesson, s]),
  );
  const tags = [...new Set(lessons.flatMap((l) => l.tags))].sort();
  const selected = new Set<string>(new URLSearchParams(location.search).getAll("tag"));

  const grid = h("ul", { class: "card-grid", "aria-label": "Lessons" });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const chips = tags.map((tag) =>
    h("button", {
      type: "button", class: "chip", "aria-pressed": String(selected.has(tag)),
      onclick: (e: MouseEvent) => {
        if (selected.has(tag)) selected.delete(tag);
        else selected.add(tag);
        (e.currentTarget as HTMLElement).setAttribute("aria-pressed", String(selected.has(tag)));
        const query = [...selected].map((t) => `tag=${encodeURIComponent(t)}`).join("&");
        history.replaceState(null, "", query ? `/?${query}` : "/");
        render();
      },
    }, tag));

  const render = () => {
    const shown = lessons.filter((l) => [...selected].every((t) => l.tags.includes(t)));
    replace(grid, shown.map((l) => card(l, live.get(l.id))));
    count.textContent = shown.length === lessons.length
      ? `${lessons.length} lesson${lessons.length === 1 ? "" : "s"}`
      : `${shown.length} of ${lessons.length} lessons`;
  };

  replace(main,
    h("section", { class: "hero" },
      h("h1", null, "Hands-on labs"),
      h("p", { class: "lead" },
        "Pick a lesson: you get your own disposable machines, a real terminal on each, and checks that tell you when you got it right.")),
    lessons.length === 0
      ? notice("No lessons yet", "This server's content folder has no lessons. Add one and it shows up here.")
      : [
          h("div", { class: "filter-bar" },
            tags.length ? h("div", { class: "chips", role: "group", "aria-label": "Filter by tag" }, chips) : null,
            count),
          grid,
        ]);
  render();
}

function card(lesson: LessonSummary, session: Session | undefined): HTMLElement {
  const href = `/lessons/${encodeURIComponent(lesson.id)}`;
  const resume = session
    ? h("span", { class: "badge badge-resume" },
        icon("play"), session.completed ? "Finished" : `In progress · step ${Math.min(session.step + 1, session.steps)} of ${session.steps}`)
    : null;
  const unavailable = lesson.unavailable
    ? h("span", { class: "badge badge-unavailable", title: lesson.unavailable }, "Not available here")
    : null;
  return h("li", { class: lesson.unavailable ? "card card-unavailable" : "card", "data-lesson": lesson.id },
    h("div", { class: "card-top" },
      lesson.difficulty ? h("span", { class: `badge badge-${lesson.difficulty}` }, lesson.difficulty) : null,
      resume, unavailable),
    h("h2", { class: "card-title" }, h("a", { href, class: "card-link" }, lesson.title)),
    h("p", { class: "card-desc" }, lesson.description),
    lesson.unavailable ? h("p", { class: "card-unavailable-why" }, lesson.unavailable) : null,
    h("div", { class: "card-meta" },
      lesson.duration ? h("span", null, icon("clock"), lesson.duration) : null,
      h("span", null, icon("layers"), `${lesson.steps} step${lesson.steps === 1 ? "" : "s"}`)),
    lesson.tags.length ? h("ul", { class: "tags", "aria-label": "Tags" }, lesson.tags.map((t) => h("li", { class: "tag" }, t))) : null,
    h("span", { class: "card-cta", "aria-hidden": "true" },
      lesson.unavailable ? "Why" : session ? "Resume" : "Start", icon("arrowRight")));
}
