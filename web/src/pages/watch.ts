// A view of a learner's terminal, opened from the dashboard's session table and from a
// class roster: read-only, except while the learner lets the instructor type (help
// mode, followed over the session's events; the server decides every keystroke).

import { withLang, type SessionEvent } from "../api";
import { h, icon, replace } from "../dom";
import { t } from "../i18n";
import { TerminalView, type ConnectionState } from "../terminal";

/** A terminal's connection as the instructor's views show it. */
function connectionText(state: ConnectionState, detail?: string): string {
  return detail ? t("common.failedWith", t(`conn.${state}`), detail) : t(`conn.${state}`);
}

/** One node's terminal of a learner's session (`who` names them). */
export class Watcher {
  private readonly view: TerminalView;
  private readonly element: HTMLElement;
  private readonly events: EventSource;

  constructor(host: HTMLElement, session: string, who: string, node: string, onClose: () => void) {
    const state = h("span", { class: "watch-state" }, connectionText("connecting"));
    const mode = h("span", { class: "watch-mode", "data-testid": "watch-mode" }, t("watch.readOnly"));
    this.view = new TerminalView({
      session, node, readOnly: true,
      onState: (s, detail) => (state.textContent = connectionText(s, detail)),
    });
    this.events = new EventSource(withLang(`/api/sessions/${session}/events`));
    this.events.onmessage = (message) => {
      const event = JSON.parse(message.data) as SessionEvent;
      if (event.type !== "presence") return;
      this.view.setReadOnly(!event.help);
      mode.textContent = event.help ? t("watch.help") : t("watch.readOnly");
      mode.classList.toggle("watch-mode-help", event.help);
    };
    this.element = h("section", { class: "watch", "aria-label": t("watch.label", node) },
      h("div", { class: "watch-head" },
        h("h2", null, icon("eye"), `${node} · ${who} `, mode), state,
        h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": t("common.close"), onclick: () => { this.dispose(); onClose(); } }, icon("x"))),
      h("div", { class: "watch-term" }, this.view.element));
    replace(host, this.element);
    this.view.open();
    this.element.scrollIntoView({ behavior: "smooth", block: "nearest" });
    window.playlab = { session, screen: () => this.view.screenText(), connection: () => this.view.connectionState() };
  }

  dispose(): void {
    this.events.close();
    this.view.dispose();
    this.element.remove();
    delete window.playlab;
  }
}

/** A learner's terminal in a [`TerminalGrid`]. */
export interface GridEntry {
  session: string;
  who: string;
  node: string;
}

/** Several learners' terminals at once, read-only and small, for a small class: the
 *  instructor sees who is where without opening each. */
export class TerminalGrid {
  private readonly views: TerminalView[] = [];
  private readonly element: HTMLElement;

  constructor(host: HTMLElement, entries: GridEntry[], closeLabel: string, onClose: () => void) {
    const tiles = entries.map((e) => {
      const state = h("span", { class: "watch-state" }, connectionText("connecting"));
      const view = new TerminalView({
        session: e.session, node: e.node, readOnly: true, fontSize: 11,
        onState: (s) => (state.textContent = connectionText(s)),
      });
      this.views.push(view);
      return h("section", { class: "grid-tile", "data-session": e.session, "aria-label": `${e.who}: ${e.node}` },
        h("div", { class: "watch-head" }, h("h3", null, icon("eye"), `${e.who} · ${e.node}`), state),
        h("div", { class: "grid-term" }, view.element));
    });
    this.element = h("section", { class: "terminal-grid-wrap" },
      h("div", { class: "watch-head" },
        h("button", { type: "button", class: "btn btn-small", onclick: () => { this.dispose(); onClose(); } }, icon("x"), closeLabel)),
      h("div", { class: "terminal-grid" }, tiles));
    replace(host, this.element);
    for (const view of this.views) view.open();
    // For the browser tests: what each tile shows (its canvas cannot be read).
    window.playlabGrid = { screens: () => this.views.map((v) => v.screenText()) };
  }

  dispose(): void {
    for (const view of this.views) view.dispose();
    this.element.remove();
    delete window.playlabGrid;
  }
}

declare global {
  interface Window {
    /** For browser tests: what each tile of the grid on screen shows. */
    playlabGrid?: { screens: () => string[] };
  }
}
