// Light and dark themes: the system preference by default, a toggle that cycles
// system → light → dark and is remembered in localStorage (index.html applies it before
// the first paint).

import { h, icon } from "./dom";
import { t } from "./i18n";

type Choice = "system" | "light" | "dark";
const KEY = "playlab.theme";
const media = window.matchMedia("(prefers-color-scheme: dark)");
const listeners = new Set<(theme: "light" | "dark") => void>();

function choice(): Choice {
  const saved = localStorage.getItem(KEY);
  return saved === "light" || saved === "dark" ? saved : "system";
}

export function effectiveTheme(): "light" | "dark" {
  const c = choice();
  return c === "system" ? (media.matches ? "dark" : "light") : c;
}

/** Calls `listener` whenever the effective theme changes; returns the unsubscribe. */
export function onThemeChange(listener: (theme: "light" | "dark") => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function apply(c: Choice): void {
  if (c === "system") {
    localStorage.removeItem(KEY);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(KEY, c);
    document.documentElement.dataset.theme = c;
  }
  const theme = effectiveTheme();
  listeners.forEach((l) => l(theme));
}

media.addEventListener("change", () => choice() === "system" && apply("system"));

/** The header button that cycles the theme. */
export function themeToggle(): HTMLButtonElement {
  const next: Record<Choice, Choice> = { system: "light", light: "dark", dark: "system" };
  const button = h("button", { class: "btn btn-ghost btn-icon", type: "button" });
  const render = () => {
    const c = choice();
    const label = t("theme.label", t(`theme.${c}`), t(`theme.${next[c]}`));
    button.replaceChildren(icon(c === "system" ? "monitor" : c === "light" ? "sun" : "moon"));
    button.title = label;
    button.setAttribute("aria-label", label);
  };
  button.addEventListener("click", () => {
    apply(next[choice()]);
    render();
  });
  render();
  return button;
}
