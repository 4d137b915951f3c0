// The learner's side of a class: the class page (`/class`, its lessons) and the
// banner that shows the instructor's broadcast on the class and lesson pages.

import { api, errorText, withLang, type Broadcast } from "../api";
import { h, icon, replace } from "../dom";
import { formatDateTime, t } from "../i18n";
import { frame, notice, pageTitle } from "../layout";
import type { Cleanup } from "../router";

/** `/class`: the member's class and its lessons. */
export function classPage(root: HTMLElement): Cleanup {
  pageTitle(t("class.title"));
  const main = frame(root, {});
  const banner = broadcastBanner();
  root.prepend(banner.element);
  api.myClass().then((mine) => {
    pageTitle(mine.name);
    replace(main,
      h("section", { class: "hero" }, h("h1", null, mine.name), h("p", { class: "muted" }, t("class.hello", mine.display_name))),
      h("h2", null, t("class.lessons")),
      h("ul", { class: "card-grid", "aria-label": t("class.lessons") }, mine.lessons.map((l) =>
        h("li", { class: "card" },
          h("h3", { class: "card-title" }, h("a", { href: `/lessons/${encodeURIComponent(l.id)}`, class: "card-link" }, l.title)),
          h("p", { class: "card-desc" }, l.description),
          h("div", { class: "card-meta" }, t("common.steps", l.steps)),
          h("span", { class: "card-cta" }, t("class.open"), icon("arrowRight"))))));
  }).catch((e) => {
    replace(main, notice(t("class.notInClass"), errorText(e), h("a", { href: "/join", class: "btn btn-primary" }, t("class.join"))));
  });
  return () => banner.dispose();
}

/** The instructor's latest message, live, for a member of a class (nothing for
 *  anyone else): a fixed banner below the top bar. */
export function broadcastBanner(): { element: HTMLElement; dispose: () => void } {
  const text = h("span", { class: "broadcast-text" });
  const element = h("div", { class: "broadcast", role: "status", "aria-live": "polite", hidden: true },
    h("strong", null, t("class.from")), text,
    h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": t("class.dismiss"), onclick: () => (element.hidden = true) }, icon("x")));
  let events: EventSource | null = null;
  let disposed = false;
  api.myClass().then(() => {
    if (disposed) return;
    events = new EventSource(withLang("/api/classes/mine/events"));
    events.onmessage = (e) => {
      const event = JSON.parse(e.data) as { type: string } & Broadcast;
      if (event.type !== "broadcast") return;
      text.textContent = event.message;
      element.title = formatDateTime(event.at);
      element.hidden = false;
    };
  }).catch(() => {});
  return {
    element,
    dispose: () => {
      disposed = true;
      events?.close();
      element.remove();
    },
  };
}
