// The app's frame: a header with the brand, page-specific controls and the theme
// toggle, then the page's main landmark.

import { h, icon } from "./dom";
import { themeToggle } from "./theme";

export function brand(): HTMLAnchorElement {
  return h("a", { href: "/", class: "brand", "aria-label": "playlab home" },
    h("span", { class: "brand-mark" }, icon("terminal")),
    h("span", { class: "brand-name" }, "playlab"));
}

/** Renders header + main into `root`; returns the main element. */
export function frame(
  root: HTMLElement,
  opts: { center?: Node | null; actions?: Node[]; wide?: boolean; pageClass?: string },
): HTMLElement {
  const main = h("main", { id: "main", class: `main ${opts.pageClass ?? ""}`, tabindex: "-1" });
  root.append(
    h("header", { class: "topbar" },
      h("div", { class: "topbar-left" }, brand(), opts.center ?? null),
      h("div", { class: "topbar-actions" }, ...(opts.actions ?? []), themeToggle())),
    main,
  );
  return main;
}

/** A centred message with an optional action (errors, empty states). */
export function notice(title: string, body: Node | string, ...actions: Node[]): HTMLElement {
  return h("div", { class: "notice" },
    h("h1", null, title),
    typeof body === "string" ? h("p", null, body) : body,
    actions.length ? h("div", { class: "notice-actions" }, ...actions) : null);
}
