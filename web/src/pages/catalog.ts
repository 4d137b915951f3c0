// The catalog: every lesson as a card, a tag filter, and a "resume" badge on lessons
// where this learner has a live session.

import { api, errorText, type LessonSummary, type Session } from "../api";
import { h, icon, replace } from "../dom";
import { formatLessonDuration, t } from "../i18n";
import { frame, notice, pageTitle } from "../layout";
import { lessonPart, unavailableText } from "../translation";
import { ensureLearner } from "./join";

export function catalogPage(root: HTMLElement): void {
  pageTitle(t("common.lessons"));
  const main = frame(root, {
    actions: [h("a", { href: "/dashboard", class: "btn btn-ghost" }, t("common.dashboard"))],
    pageClass: "catalog",
  });
  main.append(h("div", { class: "loading", "aria-busy": "true" }, t("catalog.loading")));
  load(main).catch((e) => replace(main, notice(t("catalog.loadFailed"), errorText(e))));
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

  const grid = h("ul", { class: "card-grid", "aria-label": t("common.lessons") });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const chips = tags.map((tag) =>
    h("button", {
      type: "button", class: "chip", "aria-pressed": String(selected.has(tag)),
      onclick: (e: MouseEvent) => {
        if (selected.has(tag)) selected.delete(tag);
        else selected.add(tag);
        (e.currentTarget as HTMLElement).setAttribute("aria-pressed", String(selected.has(tag)));
        const query = [...selected].map((tag) => `tag=${encodeURIComponent(tag)}`).join("&");
        history.replaceState(null, "", query ? `/?${query}` : "/");
        render();
      },
    }, tag));

  const render = () => {
    const shown = lessons.filter((l) => [...selected].every((tag) => l.tags.includes(tag)));
    replace(grid, shown.map((l) => card(l, live.get(l.id))));
    count.textContent = shown.length === lessons.length
      ? t("catalog.count", lessons.length)
      : t("catalog.countFiltered", shown.length, lessons.length);
  };

  replace(main,
    h("section", { class: "hero" },
      h("h1", null, t("catalog.heading")),
      h("p", { class: "lead" }, t("catalog.lead"))),
    lessons.length === 0
      ? notice(t("catalog.empty"), t("catalog.emptyBody"))
      : [
          h("div", { class: "filter-bar" },
            tags.length ? h("div", { class: "chips", role: "group", "aria-label": t("catalog.filter") }, chips) : null,
            count),
          grid,
        ]);
  render();
}

function card(lesson: LessonSummary, session: Session | undefined): HTMLElement {
  const href = `/lessons/${encodeURIComponent(lesson.id)}`;
  const resume = session
    ? h("span", { class: "badge badge-resume" },
        icon("play"), session.completed ? t("catalog.finished") : t("catalog.inProgress", Math.min(session.step + 1, session.steps), session.steps))
    : null;
  const why = unavailableText(lesson);
  const unavailable = why
    ? h("span", { class: "badge badge-unavailable", title: why }, t("catalog.unavailable"))
    : null;
  const title = lessonPart(lesson, "title");
  const description = lessonPart(lesson, "description");
  return h("li", { class: lesson.unavailable ? "card card-unavailable" : "card", "data-lesson": lesson.id },
    h("div", { class: "card-top" },
      lesson.difficulty ? h("span", { class: `badge badge-${lesson.difficulty}` }, t(`difficulty.${lesson.difficulty}`)) : null,
      resume, unavailable),
    h("h2", { class: "card-title" }, h("a", { href, class: "card-link", lang: title.lang }, lesson.title), title.badge),
    h("p", { class: "card-desc" }, h("span", { lang: description.lang }, lesson.description), description.badge),
    why ? h("p", { class: "card-unavailable-why" }, why) : null,
    h("div", { class: "card-meta" },
      lesson.duration ? h("span", null, icon("clock"), formatLessonDuration(lesson.duration)) : null,
      h("span", null, icon("layers"), t("common.steps", lesson.steps))),
    lesson.tags.length ? h("ul", { class: "tags", "aria-label": t("catalog.tags") }, lesson.tags.map((tag) => h("li", { class: "tag" }, tag))) : null,
    h("span", { class: "card-cta", "aria-hidden": "true" },
      lesson.unavailable ? t("catalog.why") : session ? t("catalog.resume") : t("catalog.start"), icon("arrowRight")));
}
