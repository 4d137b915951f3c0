// The learner's side of a class: the class page (`/class`, its lessons) and the
// banner that shows the instructor's broadcast on the class and lesson pages.

import { api, ApiError, type Broadcast } from "../api";
import { h, icon, replace } from "../dom";
import { frame, notice } from "../layout";
import type { Cleanup } from "../router";

/** Every string these pages show. */
const T = {
  title: "Your class",
  hello: (name: string) => `Signed in as ${name}.`,
  lessons: "Lessons of this class",
  open: "Open",
  steps: (n: number) => `${n} step${n === 1 ? "" : "s"}`,
  notInClass: "You are not in a class",
  join: "Join a class",
  from: "Message from your instructor",
  dismiss: "Dismiss",
};

/** `/class`: the member's class and its lessons. */
export function classPage(root: HTMLElement): Cleanup {
  document.title = `${T.title} · playlab`;
  const main = frame(root, {});
  const banner = broadcastBanner();
  root.prepend(banner.element);
  api.myClass().then((mine) => {
    document.title = `${mine.name} · playlab`;
    replace(main,
      h("section", { class: "hero" }, h("h1", null, mine.name), h("p", { class: "muted" }, T.hello(mine.display_name))),
      h("h2", null, T.lessons),
      h("ul", { class: "card-grid", "aria-label": T.lessons }, mine.lessons.map((l) =>
        h("li", { class: "card" },
          h("h3", { class: "card-title" }, h("a", { href: `/lessons/${encodeURIComponent(l.id)}`, class: "card-link" }, l.title)),
          h("p", { class: "card-desc" }, l.description),
          h("div", { class: "card-meta" }, T.steps(l.steps)),
          h("span", { class: "card-cta" }, T.open, icon("arrowRight"))))));
  }).catch((e) => {
    const body = e instanceof ApiError && e.status === 404 ? e.message : String((e as Error).message ?? e);
    replace(main, notice(T.notInClass, body, h("a", { href: "/join", class: "btn btn-primary" }, T.join)));
  });
  return () => banner.dispose();
}

/** The instructor's latest message, live, for a member of a class (nothing for
 *  anyone else): a fixed banner below the top bar. */
export function broadcastBanner(): { element: HTMLElement; dispose: () => void } {
  const text = h("span", { class: "broadcast-text" });
  const element = h("div", { class: "broadcast", role: "status", "aria-live": "polite", hidden: true },
    h("strong", null, T.from, ": "), text,
    h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": T.dismiss, onclick: () => (element.hidden = true) }, icon("x")));
  let events: EventSource | null = null;
  let disposed = false;
  api.myClass().then(() => {
    if (disposed) return;
    events = new EventSource("/api/classes/mine/events");
    events.onmessage = (e) => {
      const event = JSON.parse(e.data) as { type: string } & Broadcast;
      if (event.type !== "broadcast") return;
      text.textContent = event.message;
      element.title = event.at;
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
