// A read-only view of a learner's terminal, opened from the dashboard's session table
// and from a class roster.

import { h, icon, replace } from "../dom";
import { TerminalView } from "../terminal";

/** A read-only view of one node's terminal of a learner's session (`who` names them). */
export class Watcher {
  private readonly view: TerminalView;
  private readonly element: HTMLElement;

  constructor(host: HTMLElement, session: string, who: string, node: string, onClose: () => void) {
    const state = h("span", { class: "watch-state" }, "connecting");
    this.view = new TerminalView({
      session, node, readOnly: true,
      onState: (s, detail) => (state.textContent = detail ? `${s}: ${detail}` : s),
    });
    this.element = h("section", { class: "watch", "aria-label": `Watching ${node}` },
      h("div", { class: "watch-head" },
        h("h2", null, icon("eye"), `${node} · ${who} (read-only)`), state,
        h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": "Close", onclick: () => { this.dispose(); onClose(); } }, icon("x"))),
      h("div", { class: "watch-term" }, this.view.element));
    replace(host, this.element);
    this.view.open();
    this.element.scrollIntoView({ behavior: "smooth", block: "nearest" });
    window.playlab = { session, screen: () => this.view.screenText(), connection: () => this.view.connectionState() };
  }

  dispose(): void {
    this.view.dispose();
    this.element.remove();
    delete window.playlab;
  }
}
