// The app's frame: a header with the brand, page-specific controls, the language
// switch and the theme toggle, then the page's main landmark.

import { h, icon } from "./dom";
import { LANGUAGE_NAMES, setUiLanguage, t, uiLanguage, type Language, type TextKey } from "./i18n";
import { themeToggle } from "./theme";

export function brand(): HTMLAnchorElement {
  return h("a", { href: "/", class: "brand", "aria-label": t("layout.home") },
    h("span", { class: "brand-mark" }, icon("terminal")),
    h("span", { class: "brand-name" }, "playlab"));
}

/** Sets the browser tab's title: the page's, then the product's. */
export function pageTitle(title: string): void {
  document.title = `${title} · playlab`;
}

/** The header's language switch: each language named in itself; choosing one
 *  remembers it and shows the page again in it. */
function languageSwitch(): HTMLSelectElement {
  const select = h("select", { id: "lang-switch", class: "lang-switch", "aria-label": t("layout.language") },
    (Object.keys(LANGUAGE_NAMES) as Language[]).map((language) =>
      h("option", { value: language, lang: language, selected: language === uiLanguage() }, LANGUAGE_NAMES[language])));
  select.addEventListener("change", () => setUiLanguage(select.value as Language));
  return select;
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
      h("div", { class: "topbar-actions" }, ...(opts.actions ?? []), languageSwitch(), themeToggle())),
    main,
  );
  return main;
}

/** A table's head row: each column named by its message (null: a column of buttons). */
export function tableHead(columns: (TextKey | null)[]): HTMLTableSectionElement {
  return h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c ? t(c) : ""))));
}

/** A centred message with an optional action (errors, empty states). */
export function notice(title: string, body: Node | string, ...actions: Node[]): HTMLElement {
  return h("div", { class: "notice" },
    h("h1", null, title),
    typeof body === "string" ? h("p", null, body) : body,
    actions.length ? h("div", { class: "notice-actions" }, ...actions) : null);
}
