// The instructor's recordings of one session: its `.cast` files (node, shell, size,
// start, length) with a download link each, and asciinema-player to replay one. The
// markers in the file (check verdicts, gaps) sit on the player's timeline and are
// listed beside it, each a button that seeks there, so the instructor finds where the
// learner got stuck. The player and its CSS are bundled: no request leaves the server.
// Its code is a chunk of its own, loaded on the first replay, so learners' pages do
// not carry it.

import type { Player } from "asciinema-player";
import "asciinema-player/dist/bundle/asciinema-player.css";
import { api, failedText, recordingUrl, type RecordingInfo } from "../api";
import { h, icon, replace } from "../dom";
import { formatBytes, formatClock, formatDateTime, formatDuration, t } from "../i18n";
import { tableHead } from "../layout";

/** A marker of a recording: when, and what happened (`check step 1 "…": pass`). */
interface Marker {
  time: number;
  label: string;
}

/** The markers of an asciicast v2 file's text. */
function markers(cast: string): Marker[] {
  const found: Marker[] = [];
  for (const line of cast.split("\n").slice(1)) {
    if (!line.includes('"m"')) continue;
    try {
      const [time, code, label] = JSON.parse(line);
      if (code === "m") found.push({ time, label: String(label) });
    } catch {
      /* a line still being written */
    }
  }
  return found;
}

/** The recordings panel of one session, shown in `host`. */
export class RecordingsPanel {
  private readonly element: HTMLElement;
  private readonly stage = h("div", { class: "replay" });
  private player: Player | null = null;

  constructor(host: HTMLElement, private readonly session: string, title: string, onClose: () => void) {
    const list = h("div", { class: "recordings-list" }, h("p", { class: "muted" }, t("recordings.loading")));
    this.element = h("section", { class: "watch recordings", "aria-label": t("recordings.label", title) },
      h("div", { class: "watch-head" },
        h("h2", null, icon("play"), t("recordings.heading", title)),
        h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": t("common.close"), onclick: () => { this.dispose(); onClose(); } }, icon("x"))),
      list, this.stage);
    replace(host, this.element);
    this.element.scrollIntoView({ behavior: "smooth", block: "nearest" });
    api.recordings(session)
      .then((recordings) => this.list(list, recordings))
      .catch((e) => replace(list, h("p", { class: "form-error" }, failedText(t("recordings.listFailed"), e))));
  }

  private list(list: HTMLElement, recordings: RecordingInfo[]): void {
    if (recordings.length === 0) {
      replace(list, h("p", { class: "muted" }, t("recordings.none")));
      return;
    }
    replace(list, h("table", { class: "sessions" },
      tableHead(["common.node", "recordings.shell", "common.started", "recordings.length", "recordings.size", null]),
      h("tbody", null, recordings.map((r) => h("tr", { "data-recording": r.file },
        h("td", null, r.node),
        h("td", null, String(r.shell)),
        h("td", null, r.started_at ? formatDateTime(r.started_at) : "–"),
        h("td", null, formatDuration(r.duration)),
        h("td", null, formatBytes(r.bytes)),
        h("td", { class: "row-actions" },
          h("button", { type: "button", class: "btn btn-small", "aria-label": t("recordings.playLabel", r.file), onclick: () => this.play(r) }, icon("play"), t("recordings.play")),
          h("a", { class: "btn btn-small btn-ghost", href: recordingUrl(this.session, r.file), download: `${this.session}-${r.file}` }, t("recordings.download"))))))));
  }

  private async play(recording: RecordingInfo): Promise<void> {
    this.player?.dispose();
    this.player = null;
    const screen = h("div", { class: "replay-player" });
    const marks = h("ol", { class: "replay-markers", "aria-label": t("recordings.markers") });
    replace(this.stage, h("h3", null, t("recordings.shellOf", recording.node, recording.shell)), screen, marks);
    let cast: string;
    let create: typeof import("asciinema-player").create;
    try {
      ({ create } = await import("asciinema-player"));
      cast = await api.recording(this.session, recording.file);
    } catch (e) {
      replace(this.stage, h("p", { class: "form-error" }, failedText(t("recordings.loadFailed"), e)));
      return;
    }
    const player = create({ data: cast }, screen, { autoPlay: true, preload: true, fit: "width", idleTimeLimit: 2, terminalFontSize: "small" });
    this.player = player;
    const found = markers(cast);
    replace(marks, found.length === 0
      ? h("li", { class: "muted" }, t("recordings.noMarkers"))
      : found.map((m, index) => h("li", { class: /: pass$/.test(m.label) ? "marker-pass" : /: fail/.test(m.label) ? "marker-fail" : "" },
          h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => player.seek({ marker: index }) },
            h("code", null, formatClock(m.time)), " ", m.label))));
    window.playlabReplay = { markers: () => found.map((m) => m.label), player };
  }

  dispose(): void {
    this.player?.dispose();
    this.element.remove();
    delete window.playlabReplay;
  }
}

declare global {
  interface Window {
    /** For browser tests: the replay on screen. */
    playlabReplay?: { markers: () => string[]; player: Player };
  }
}
