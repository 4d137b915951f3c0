// A learner's terminal as the instructor sees it, opened from the dashboard's session
// table and from a class roster.

import type { SessionEvent } from "../api";
import { h, icon, replace } from "../dom";
import { TerminalView } from "../terminal";

/** A view of one node's terminal of a learner's session (`who` names them): read-only,
 *  except while the learner lets the instructor type (help mode, followed over the
 *  session's events). */
export class Watcher {
  private readonly view: TerminalView;
  private readonly element: HTMLElement;
  private readonly events: EventSource;

  constructor(host: HTMLElement, session: string, who: string, node: string, onClose: () => void) {
    const state = h("span", { class: "watch-state" }, "connecting");
    const mode = h("span", { class: "watch-mode", "data-testid": "watch-mode" }, "read-only");
    this.view = new TerminalView({
      session, node, readOnly: true,
      onState: (s, detail) => (state.textContent = detail ? `${s}: ${detail}` : s),
    });
    this.events = new EventSource(`/api/sessions/${session}/events`);
    this.events.onmessage = (message) => {
      const event = JSON.parse(message.data) as SessionEvent;
      if (event.type !== "presence") return;
      this.view.setReadOnly(!event.help);
      mode.textContent = event.help ? "help mode: you can type" : "read-only";
      mode.classList.toggle("watch-mode-help", event.help);
    };
    this.element = h("section", { class: "watch", "aria-label": `Watching ${node}` },
      h("div", { class: "watch-head" },
        h("h2", null, icon("eye"), `${node} · ${who} `, mode), state,
        h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": "Close", onclick: () => { this.dispose(); onClose(); } }, icon("x"))),
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
