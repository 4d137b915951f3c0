// A node's terminal in the page: xterm.js plus the attach code for playlab's terminal
// WebSocket (issue 5): binary frames carry raw bytes both ways, text frames JSON control.
//
// Flow control follows xterm.js's guide: count the bytes handed to `term.write` whose
// write callback has not fired yet; above HIGH_WATER ask the server to pause, below
// LOW_WATER to resume. The server then stops reading from the node, so `yes` cannot
// flood the browser (or the server's memory).
//
// The socket reconnects on its own with backoff; the server keeps the shell alive and
// replays its recent output, so the screen comes back after a reset.

import { Terminal, type ITheme } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { WebglAddon } from "@xterm/addon-webgl";
import "@xterm/xterm/css/xterm.css";
import { terminalUrl } from "./api";
import { copyText, h } from "./dom";
import { t } from "./i18n";
import { onThemeChange, effectiveTheme } from "./theme";

const HIGH_WATER = 256 * 1024;
const LOW_WATER = 32 * 1024;
const MAX_BACKOFF_MS = 8000;

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

export interface TerminalOptions {
  session: string;
  node: string;
  /** Watchers (an instructor helping a learner) see the screen but cannot type. */
  readOnly?: boolean;
  /** Smaller for a grid of several learners' terminals (default 14). */
  fontSize?: number;
  /** The id of an element describing the terminal's keys (screen readers read it on focus). */
  describedBy?: string;
  onState?: (state: ConnectionState, detail?: string) => void;
}

const THEMES: Record<"light" | "dark", ITheme> = {
  dark: {
    background: "#0f1117",
    foreground: "#e6e8ef",
    cursor: "#a5b4fc",
    cursorAccent: "#0f1117",
    selectionBackground: "#4f46e580",
    black: "#1e2230", red: "#f87171", green: "#4ade80", yellow: "#facc15",
    blue: "#60a5fa", magenta: "#c084fc", cyan: "#22d3ee", white: "#d1d5db",
    brightBlack: "#6b7280", brightRed: "#fca5a5", brightGreen: "#86efac", brightYellow: "#fde68a",
    brightBlue: "#93c5fd", brightMagenta: "#d8b4fe", brightCyan: "#67e8f9", brightWhite: "#f9fafb",
  },
  light: {
    background: "#fbfbfd",
    foreground: "#1f2330",
    cursor: "#4f46e5",
    cursorAccent: "#fbfbfd",
    selectionBackground: "#6366f140",
    black: "#1f2330", red: "#dc2626", green: "#15803d", yellow: "#a16207",
    blue: "#2563eb", magenta: "#9333ea", cyan: "#0e7490", white: "#6b7280",
    brightBlack: "#4b5563", brightRed: "#ef4444", brightGreen: "#16a34a", brightYellow: "#ca8a04",
    brightBlue: "#3b82f6", brightMagenta: "#a855f7", brightCyan: "#0891b2", brightWhite: "#9ca3af",
  },
};

// Leaving a terminal with the keyboard. The shell needs Tab (completion), so xterm.js
// keeps it and a keyboard user would be trapped in the terminal. As in VS Code, a
// shortcut toggles "Tab moves focus": while it is on, Tab and Shift+Tab move the focus
// out of (and between) terminals like anywhere else. Ctrl+M is Enter in a terminal,
// hence Ctrl+Shift+M. Escape-then-Tab (CodeMirror's way) would first send Escape,
// which bash then holds as a Meta prefix for the next key the learner or a Run button
// types. The setting is one for the page, a preference like the theme.

/** The shortcut that toggles "Tab moves focus", as shown to learners. */
export const TAB_MODE_SHORTCUT = "Ctrl+Shift+M";
let tabMovesFocus = false;
const tabModeListeners = new Set<(on: boolean) => void>();

function setTabMovesFocus(on: boolean): void {
  tabMovesFocus = on;
  tabModeListeners.forEach((l) => l(on));
}

/** The switch beside the terminals (a button with the given id) that shows "Tab moves
 *  focus" and flips it; it names the shortcut, so keyboard users find the way out.
 *  `dispose` unsubscribes it. */
export function tabModeSwitch(id: string): { element: HTMLElement; dispose: () => void } {
  const button = h("button", {
    type: "button", id, class: "tab-mode", "aria-pressed": String(tabMovesFocus), "aria-keyshortcuts": "Control+Shift+M",
    title: t("term.tabModeTitle"),
    onclick: () => setTabMovesFocus(!tabMovesFocus),
  }, h("span", { class: "switch", "aria-hidden": "true" }), t("term.tabMode"), h("kbd", null, TAB_MODE_SHORTCUT));
  // The shortcut is pressed inside the terminal, away from the switch: a status region
  // tells screen readers what it did.
  const status = h("span", { class: "sr-only", role: "status" });
  const render = (on: boolean) => {
    button.setAttribute("aria-pressed", String(on));
    status.textContent = on ? t("term.tabModeOn") : t("term.tabModeOff");
  };
  tabModeListeners.add(render);
  return { element: h("span", null, button, status), dispose: () => tabModeListeners.delete(render) };
}

export class TerminalView {
  readonly term: Terminal;
  readonly element: HTMLElement;
  private readonly fit = new FitAddon();
  private ws: WebSocket | null = null;
  private state: ConnectionState = "connecting";
  private disposed = false;
  private attempts = 0;
  private retryTimer: number | undefined;
  private pending = 0;
  private paused = false;
  private readonly encoder = new TextEncoder();
  private readonly cleanups: (() => void)[] = [];

  private readOnly: boolean;

  constructor(private readonly opts: TerminalOptions) {
    this.element = document.createElement("div");
    this.element.className = "terminal-host";
    this.term = new Terminal({
      fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, ui-monospace, monospace',
      fontSize: opts.fontSize ?? 14,
      lineHeight: 1.15,
      cursorBlink: !opts.readOnly,
      disableStdin: !!opts.readOnly,
      scrollback: 5000,
      allowProposedApi: true,
      theme: THEMES[effectiveTheme()],
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new WebLinksAddon());
    this.cleanups.push(onThemeChange((t) => (this.term.options.theme = THEMES[t])));

    this.readOnly = !!opts.readOnly;
    this.term.onData((data) => this.readOnly || this.sendBytes(this.encoder.encode(data)));
    this.term.onBinary((data) => this.readOnly || this.sendBytes(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    // A watcher's window never reshapes the learner's terminal (the server refuses it),
    // even in help mode: only the learner's view asks.
    if (!opts.readOnly) this.term.onResize(({ cols, rows }) => this.sendControl({ type: "resize", cols, rows }));
    this.term.attachCustomKeyEventHandler((e) => this.onKey(e));
  }

  /** The page's keys inside the terminal; `false` keeps a key from the shell. */
  private onKey(e: KeyboardEvent): boolean {
    if (e.type !== "keydown") return true;
    // Ctrl-C belongs to the shell; Ctrl-Shift-C copies the selection as in desktop
    // terminals (Ctrl-Shift-V pastes through the browser's paste event). Both shortcuts
    // also mean something to browsers (DevTools, profiles), hence preventDefault.
    if (e.ctrlKey && e.shiftKey && e.code === "KeyC" && this.term.hasSelection()) {
      e.preventDefault();
      copyText(this.term.getSelection()).catch(() => {});
      return false;
    }
    if (e.ctrlKey && e.shiftKey && e.code === "KeyM") {
      e.preventDefault();
      setTabMovesFocus(!tabMovesFocus);
      return false;
    }
    // Not handled by xterm.js, Tab does what it does anywhere else in the page. A
    // read-only view has no shell to complete in, so there it always moves the focus.
    if (e.key === "Tab" && !e.ctrlKey && !e.altKey && !e.metaKey && (tabMovesFocus || this.readOnly)) return false;
    return true;
  }

  /** A watcher types while the learner grants help (the server decides each keystroke). */
  setReadOnly(readOnly: boolean): void {
    this.readOnly = readOnly;
    this.term.options.disableStdin = readOnly;
    this.term.options.cursorBlink = !readOnly;
  }

  /** Puts the terminal into the page (it must be visible to measure) and connects. */
  open(): void {
    this.term.open(this.element);
    if (this.opts.describedBy) this.term.textarea?.setAttribute("aria-describedby", this.opts.describedBy);
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => webgl.dispose());
      this.term.loadAddon(webgl);
    } catch {
      // No WebGL (e.g. a GPU-less browser): xterm.js keeps its DOM renderer.
    }
    const observer = new ResizeObserver(() => this.fitNow());
    observer.observe(this.element);
    this.cleanups.push(() => observer.disconnect());
    this.fitNow();
    this.connect();
  }

  /** Fits the grid to the element; a hidden tab (zero size) keeps its size. */
  fitNow(): void {
    if (this.disposed || this.element.clientWidth === 0 || this.element.clientHeight === 0) return;
    try {
      this.fit.fit();
    } catch {
      /* not rendered yet */
    }
  }

  focus(): void {
    this.term.focus();
  }

  /** Types text into the shell as if the learner did (Run buttons). */
  type(text: string): void {
    this.sendBytes(this.encoder.encode(text));
  }

  /** The visible screen and scrollback as text (tests and the instructor view use it). */
  screenText(): string {
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n").replace(/\s+$/, "");
  }

  /** Closes the socket as a network failure would (the reconnect path runs); the
   *  browser test uses it to prove reconnect and replay. */
  dropConnection(): void {
    this.ws?.close(4000, "dropped");
  }

  connectionState(): ConnectionState {
    return this.state;
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.retryTimer);
    this.ws?.close(1000, "page closed");
    for (const cleanup of this.cleanups) cleanup();
    this.term.dispose();
  }

  private connect(): void {
    const url = terminalUrl(this.opts.session, this.opts.node, this.term.cols, this.term.rows);
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.setState(this.attempts === 0 ? "connecting" : "reconnecting");
    let opened = false;

    ws.onopen = () => {
      opened = true;
      this.attempts = 0;
      this.pending = 0;
      this.paused = false;
      // The server replays the shell's recent output: start from a clean screen so
      // the replay paints it exactly once.
      this.term.reset();
      this.sendControl({ type: "resize", cols: this.term.cols, rows: this.term.rows });
      this.setState("connected");
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") this.onControl(event.data);
      else this.write(new Uint8Array(event.data as ArrayBuffer));
    };
    ws.onclose = (event) => {
      if (this.ws !== ws || this.disposed) return;
      this.ws = null;
      if (event.code === 1000 && event.reason === "ended") {
        this.setState("closed", t("term.sessionEnded"));
        return;
      }
      this.attempts++;
      const delay = Math.min(MAX_BACKOFF_MS, 400 * 2 ** Math.min(this.attempts - 1, 5));
      this.setState("reconnecting", opened ? t("term.connectionLost") : t("term.cannotConnect"));
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private write(bytes: Uint8Array): void {
    this.pending += bytes.length;
    this.term.write(bytes, () => {
      this.pending = Math.max(0, this.pending - bytes.length);
      if (this.paused && this.pending < LOW_WATER) {
        this.paused = false;
        this.sendControl({ type: "resume" });
      }
    });
    if (!this.paused && this.pending > HIGH_WATER) {
      this.paused = true;
      this.sendControl({ type: "pause" });
    }
  }

  private onControl(text: string): void {
    let message: { type?: string; code?: number | null; message?: string };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "exit") {
      this.term.write(`\r\n\x1b[2m[${t("term.shellExited", String(message.code ?? "?"))}]\x1b[0m\r\n`);
    } else if (message.type === "error") {
      this.term.write(`\r\n\x1b[31m[playlab: ${message.message ?? t("term.error")}]\x1b[0m\r\n`);
    }
  }

  private sendBytes(bytes: Uint8Array): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  private sendControl(message: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private setState(state: ConnectionState, detail?: string): void {
    this.state = state;
    this.element.dataset.state = state;
    this.opts.onState?.(state, detail);
  }
}
