// The instructor's recordings of one session: its `.cast` files (node, shell, size,
// start, length) with a download link each, and asciinema-player to replay one. The
// markers in the file (check verdicts, gaps) sit on the player's timeline and are
// listed beside it, each a button that seeks there, so the instructor finds where the
// learner got stuck. The player and its CSS are bundled: no request leaves the server.
// Its code is a chunk of its own, loaded on the first replay, so learners' pages do
// not carry it.

import type { Player } from "asciinema-player";
import "asciinema-player/dist/bundle/asciinema-player.css";
import { api, recordingUrl, type RecordingInfo } from "../api";
import { clock, h, icon, replace } from "../dom";

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

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The recordings panel of one session, shown in `host`. */
export class RecordingsPanel {
  private readonly element: HTMLElement;
  private readonly stage = h("div", { class: "replay" });
  private player: Player | null = null;

  constructor(host: HTMLElement, private readonly session: string, title: string, onClose: () => void) {
    const list = h("div", { class: "recordings-list" }, h("p", { class: "muted" }, "Loading recordings…"));
    this.element = h("section", { class: "watch recordings", "aria-label": `Recordings of ${title}` },
      h("div", { class: "watch-head" },
        h("h2", null, icon("play"), `Recordings · ${title}`),
        h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": "Close", onclick: () => { this.dispose(); onClose(); } }, icon("x"))),
      list, this.stage);
    replace(host, this.element);
    this.element.scrollIntoView({ behavior: "smooth", block: "nearest" });
    api.recordings(session)
      .then((recordings) => this.list(list, recordings))
      .catch((e) => replace(list, h("p", { class: "form-error" }, `Could not list the recordings: ${(e as Error).message}`)));
  }

  private list(list: HTMLElement, recordings: RecordingInfo[]): void {
    if (recordings.length === 0) {
      replace(list, h("p", { class: "muted" }, "Nothing recorded yet: recordings begin when a terminal opens."));
      return;
    }
    replace(list, h("table", { class: "sessions" },
      h("thead", null, h("tr", null, ["Node", "Shell", "Started", "Length", "Size", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, recordings.map((r) => h("tr", { "data-recording": r.file },
        h("td", null, r.node),
        h("td", null, String(r.shell)),
        h("td", null, r.started_at ? new Date(r.started_at).toLocaleString() : "–"),
        h("td", null, clock(Math.round(r.duration))),
        h("td", null, size(r.bytes)),
        h("td", { class: "row-actions" },
          h("button", { type: "button", class: "btn btn-small", "aria-label": `Play ${r.file}`, onclick: () => this.play(r) }, icon("play"), "Play"),
          h("a", { class: "btn btn-small btn-ghost", href: recordingUrl(this.session, r.file), download: `${this.session}-${r.file}` }, "Download")))))));
  }

  private async play(recording: RecordingInfo): Promise<void> {
    this.player?.dispose();
    this.player = null;
    const screen = h("div", { class: "replay-player" });
    const marks = h("ol", { class: "replay-markers", "aria-label": "Checks and markers" });
    replace(this.stage, h("h3", null, `${recording.node}, shell ${recording.shell}`), screen, marks);
    let cast: string;
    let create: typeof import("asciinema-player").create;
    try {
      ({ create } = await import("asciinema-player"));
      const response = await fetch(recordingUrl(this.session, recording.file), { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      cast = await response.text();
    } catch (e) {
      replace(this.stage, h("p", { class: "form-error" }, `Could not load the recording: ${(e as Error).message}`));
      return;
    }
    const player = create({ data: cast }, screen, { autoPlay: true, preload: true, fit: "width", idleTimeLimit: 2, terminalFontSize: "small" });
    this.player = player;
    const found = markers(cast);
    replace(marks, found.length === 0
      ? h("li", { class: "muted" }, "No checks were run while this shell was open.")
      : found.map((m, index) => h("li", { class: /: pass$/.test(m.label) ? "marker-pass" : /: fail/.test(m.label) ? "marker-fail" : "" },
          h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => player.seek({ marker: index }) },
            h("code", null, clock(Math.floor(m.time))), " ", m.label))));
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
