// The lesson page: instructions on the left (steps, Run/Copy code blocks, quizzes,
// Check), the environment on the right (start progress, then one terminal tab per
// node), a header with the step progress, the countdown and the session's controls.
//
// Opening the page starts the learner's session for the lesson, or returns the live one
// (the server keeps one per learner and lesson), so a reload resumes where it was.

import type { Terminal } from "@xterm/xterm";
import { api, ApiError, type CheckOutcome, type LessonDetail, type Progress, type Session, type SessionEvent, type StepDetail } from "../api";
import { clock, copyText, h, icon, replace, toast } from "../dom";
import { frame, notice } from "../layout";
import { navigate, type Cleanup } from "../router";
import { TerminalView, tabModeSwitch, type ConnectionState } from "../terminal";
import { ensureLearner } from "./join";
import { broadcastBanner } from "./classroom";

const SPLIT_KEY = "playlab.split";
/** The "Tab moves focus" switch; every terminal names it as its description. */
const TAB_MODE_ID = "tab-mode";
/** Lines of start log kept on screen; the server bounds its own history too. */
const MAX_LOG_LINES = 400;
/** Under this many seconds left the countdown turns amber. */
const WARN_SECONDS = 5 * 60;

declare global {
  interface Window {
    /** A read-only window into the page for browser tests and curious instructors. */
    playlab?: {
      session?: string;
      screen(node: string): string;
      connection(node: string): ConnectionState | undefined;
      size?(node: string): { cols: number; rows: number } | undefined;
      drop?(node: string): void;
      /** The node's xterm.js terminal, so browser tests can read what it holds (cell
       *  colours and widths, the alternate screen, the selection) through xterm's own
       *  API instead of a copy of it here. */
      terminal?(node: string): Terminal | undefined;
    };
  }
}

export function lessonPage(root: HTMLElement, params: Record<string, string>): Cleanup {
  const page = new LessonPage(root, params.id);
  page.load().catch((e) => page.fatal(e));
  return () => page.dispose();
}

class LessonPage {
  private lesson!: LessonDetail;
  private session!: Session;
  private viewStep = 0;
  private events: EventSource | null = null;
  private readonly terminals = new Map<string, TerminalView>();
  private activeNode = "";
  private timer: number | undefined;
  private disposed = false;
  private checking = false;

  private readonly main: HTMLElement;
  private readonly titleEl = h("div", { class: "lesson-title" });
  private readonly progressEl = h("div", { class: "steps-progress" });
  private readonly countdown = h("span", { class: "countdown", role: "timer", "aria-live": "off" });
  private readonly actions = h("div", { class: "session-actions" });
  private readonly instructions = h("section", { class: "instructions", "aria-label": "Instructions" });
  private readonly workspace = h("section", { class: "workspace", "aria-label": "Terminals" });
  private startPanel: StartPanel | null = null;
  private readonly tabMode = tabModeSwitch(TAB_MODE_ID);
  /** The instructor's broadcast, for a class member. */
  private readonly banner = broadcastBanner();

  constructor(root: HTMLElement, private readonly lessonId: string) {
    document.title = "Lesson · playlab";
    this.main = frame(root, {
      center: h("div", { class: "topbar-lesson" }, this.titleEl, this.progressEl),
      actions: [this.actions],
      pageClass: "lesson-main",
    });
    root.prepend(this.banner.element);
    this.main.append(h("div", { class: "loading", "aria-busy": "true" }, "Starting your lesson…"));
    window.playlab = {
      screen: (node) => this.terminals.get(node)?.screenText() ?? "",
      connection: (node) => this.terminals.get(node)?.connectionState(),
      drop: (node) => this.terminals.get(node)?.dropConnection(),
      terminal: (node) => this.terminals.get(node)?.term,
      size: (node) => {
        const t = this.terminals.get(node)?.term;
        return t && { cols: t.cols, rows: t.rows };
      },
    };
  }

  async load(): Promise<void> {
    await ensureLearner(this.main);
    this.lesson = await api.lesson(this.lessonId);
    document.title = `${this.lesson.title} · playlab`;
    this.titleEl.textContent = this.lesson.title;
    if (this.lesson.unavailable) {
      // Starting would only fail with the same reason, after the learner waited.
      replace(this.main, notice("This lesson cannot start on this server", this.lesson.unavailable,
        h("a", { href: "/", class: "btn btn-primary" }, "Back to the lessons")));
      return;
    }
    this.session = await api.startSession(this.lessonId);
    if (this.disposed) return;
    window.playlab!.session = this.session.id;
    this.viewStep = Math.min(this.session.step, this.lesson.steps.length - 1);
    this.viewingFinish = this.session.completed;
    this.layout();
    this.renderHeader();
    this.renderInstructions();
    this.renderWorkspace();
    this.subscribe();
    this.timer = window.setInterval(() => this.tick(), 1000);
    this.tick();
  }

  fatal(e: unknown): void {
    const message = e instanceof ApiError ? e.message : String((e as Error)?.message ?? e);
    const title = e instanceof ApiError && e.status === 404 ? "Lesson not found" : "Could not start the lesson";
    replace(this.main, notice(title, message,
      h("button", { class: "btn btn-primary", onclick: () => navigate(location.pathname, true) }, icon("refresh"), "Try again"),
      h("a", { href: "/", class: "btn" }, "Back to the lessons")));
  }

  dispose(): void {
    this.disposed = true;
    this.events?.close();
    window.clearInterval(this.timer);
    for (const t of this.terminals.values()) t.dispose();
    this.terminals.clear();
    this.tabMode.dispose();
    this.banner.dispose();
    delete window.playlab;
  }

  // ---- layout and the resizable split ----

  private layout(): void {
    const gutter = h("div", {
      class: "gutter", role: "separator", tabindex: "0", "aria-orientation": "vertical",
      "aria-label": "Resize instructions and terminals", "aria-valuemin": "20", "aria-valuemax": "75",
    });
    const split = h("div", { class: "split" }, this.instructions, gutter, this.workspace);
    const setSplit = (pct: number) => {
      pct = Math.min(75, Math.max(20, pct));
      split.style.setProperty("--split", `${pct}%`);
      gutter.setAttribute("aria-valuenow", String(Math.round(pct)));
      localStorage.setItem(SPLIT_KEY, String(pct));
    };
    setSplit(Number(localStorage.getItem(SPLIT_KEY)) || 40);
    gutter.addEventListener("pointerdown", (down: PointerEvent) => {
      gutter.setPointerCapture(down.pointerId);
      split.classList.add("dragging");
      const move = (e: PointerEvent) => {
        const box = split.getBoundingClientRect();
        setSplit(((e.clientX - box.left) / box.width) * 100);
      };
      const up = () => {
        split.classList.remove("dragging");
        gutter.removeEventListener("pointermove", move);
        gutter.removeEventListener("pointerup", up);
      };
      gutter.addEventListener("pointermove", move);
      gutter.addEventListener("pointerup", up);
    });
    gutter.addEventListener("keydown", (e: KeyboardEvent) => {
      const now = Number(gutter.getAttribute("aria-valuenow"));
      if (e.key === "ArrowLeft") setSplit(now - 3);
      else if (e.key === "ArrowRight") setSplit(now + 3);
      else return;
      e.preventDefault();
    });
    replace(this.main, split);
  }

  // ---- header: progress, countdown, session controls ----

  private renderHeader(): void {
    const total = this.lesson.steps.length;
    const done = this.session.completed ? total : this.session.step;
    replace(this.progressEl,
      h("div", {
        class: "progress", role: "progressbar", "aria-label": "Lesson progress",
        "aria-valuemin": "0", "aria-valuemax": String(total), "aria-valuenow": String(done),
        "aria-valuetext": `${done} of ${total} steps done`,
      }, this.lesson.steps.map((step, i) =>
        h("button", {
          type: "button",
          class: `progress-seg ${i < done ? "done" : ""} ${i === done && !this.session.completed ? "current" : ""} ${i === this.viewStep ? "viewing" : ""}`,
          title: `Step ${i + 1}: ${step.title}`,
          "aria-label": `Step ${i + 1}: ${step.title}${i < done ? " (done)" : ""}`,
          disabled: i > done || this.session.status !== "ready",
          onclick: () => this.showStep(i),
        }))),
      h("span", { class: "progress-label" }, `${done}/${total}`));

    const live = this.session.status === "starting" || this.session.status === "ready";
    replace(this.actions,
      live ? this.countdown : null,
      live ? h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.extend(), title: "Add time to this session" }, icon("plus"), "Extend") : null,
      live ? h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.reset(), title: "Destroy the machines and start over" }, icon("refresh"), "Reset") : null,
      live ? this.presenceEl : null);
  }

  /** Who watches the terminals, and the learner's switch for letting them type. */
  private readonly presenceEl = h("span", { class: "presence", "aria-live": "polite" });
  private presence = { watchers: 0, help: false };

  private renderPresence(): void {
    const { watchers, help } = this.presence;
    const toggle = h("button", {
      type: "button", class: help ? "btn btn-small btn-warn" : "btn btn-small", "data-testid": "help-toggle",
      "aria-pressed": String(help),
      onclick: () => this.setHelp(!help),
    }, help ? "Stop the instructor typing" : "Let the instructor type");
    replace(this.presenceEl,
      watchers > 0
        ? h("span", { class: "presence-badge", "data-testid": "watched" }, icon("eye"),
            watchers === 1 ? "An instructor is watching" : `${watchers} instructors are watching`)
        : null,
      watchers > 0 || help ? toggle : null);
  }

  private async setHelp(allow: boolean): Promise<void> {
    try {
      const state = await api.setHelp(this.session.id, allow);
      this.presence = { watchers: state.watchers, help: state.help };
      this.renderPresence();
    } catch (e) {
      toast((e as Error).message, "error");
    }
  }

  private tick(): void {
    const left = (Date.parse(this.session.expires_at) - Date.now()) / 1000;
    this.countdown.replaceChildren(icon("clock"), clock(left));
    this.countdown.classList.toggle("warn", left < WARN_SECONDS);
    this.countdown.setAttribute("aria-label", `Time left: ${clock(left)}`);
  }

  private async extend(): Promise<void> {
    try {
      const r = await api.extend(this.session.id);
      this.session.expires_at = r.expires_at;
      this.tick();
      toast("Session extended", "success");
    } catch (e) {
      toast((e as Error).message, "error");
    }
  }

  private async reset(): Promise<void> {
    if (!confirm("Reset the environment? Your machines are destroyed and the lesson starts over from step 1.")) return;
    try {
      await api.endSession(this.session.id);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) return toast((e as Error).message, "error");
    }
    navigate(location.pathname, true);
  }

  // ---- events from the server ----

  private subscribe(): void {
    const es = new EventSource(`/api/sessions/${this.session.id}/events`);
    this.events = es;
    es.onmessage = (message) => {
      let event: SessionEvent;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      this.onEvent(event);
    };
  }

  private onEvent(event: SessionEvent): void {
    switch (event.type) {
      case "progress":
        this.startPanel?.progress(event.progress);
        break;
      case "status":
        if (event.status === this.session.status) break;
        this.session.status = event.status;
        this.session.error = event.error ?? undefined;
        if (event.status === "ended") return this.ended("ended");
        this.renderHeader();
        this.renderWorkspace();
        this.renderInstructions();
        break;
      case "step":
        // A check in flight reports the same change in its answer, with the result.
        if (this.checking) break;
        this.session.expires_at = event.expires_at;
        this.tick();
        if (event.step === this.session.step && event.completed === this.session.completed) break;
        this.applyStep(event.step, event.completed);
        break;
      case "expiry_warning":
        toast(`Your session ends in ${clock(event.seconds_left)}. Use Extend for more time.`, "info");
        this.session.expires_at = event.expires_at;
        break;
      case "extended":
        this.session.expires_at = event.expires_at;
        this.tick();
        break;
      case "ended":
        this.ended(event.reason);
        break;
      case "presence":
        this.presence = { watchers: event.watchers, help: event.help };
        this.renderPresence();
        break;
    }
  }

  private ended(reason: string): void {
    this.events?.close();
    this.session.status = "ended";
    for (const t of this.terminals.values()) t.dispose();
    this.terminals.clear();
    this.renderHeader();
    const why: Record<string, string> = {
      finished: "You finished the lesson.",
      expired: "Its time ran out.",
      idle: "It was idle for too long.",
      deleted: "It was ended.",
      shutdown: "The server was shut down.",
    };
    replace(this.workspace, notice("This session has ended",
      `${why[reason] ?? "It ended."} Its machines were removed.`,
      h("button", { class: "btn btn-primary", onclick: () => navigate(location.pathname, true) }, icon("refresh"), "Start a new session"),
      h("a", { href: "/", class: "btn" }, "Back to the lessons")));
  }

  // ---- instructions ----

  private showStep(i: number): void {
    this.viewStep = i;
    this.renderHeader();
    this.renderInstructions();
    this.instructions.scrollTop = 0;
  }

  private applyStep(step: number, completed: boolean): void {
    const wasViewingCurrent = this.viewStep === this.session.step;
    this.session.step = step;
    this.session.completed = completed;
    if (wasViewingCurrent) this.viewStep = Math.min(step, this.lesson.steps.length - 1);
    if (wasViewingCurrent && completed) this.viewingFinish = true;
    this.renderHeader();
    this.renderInstructions();
  }

  private renderInstructions(): void {
    const s = this.session;
    if (s.status !== "ready") {
      replace(this.instructions, h("div", { class: "step" },
        h("p", { class: "step-kicker" }, "Getting ready"),
        h("h1", { class: "step-title" }, this.lesson.title),
        this.notes(),
        this.prose(this.lesson.intro_html ?? `<p>${escapeHtml(this.lesson.description)}</p>`),
        h("h2", { class: "outline-title" }, "What you will do"),
        h("ol", { class: "outline" }, this.lesson.steps.map((st) => h("li", null, st.title)))));
      return;
    }
    if (s.completed && this.viewingFinish) return this.renderFinish();
    this.renderStep(this.lesson.steps[this.viewStep], this.viewStep);
  }

  /** Set when the learner passes the last step; cleared when they look back at a step. */
  private viewingFinish = false;

  private renderStep(step: StepDetail, index: number): void {
    this.viewingFinish = false;
    const total = this.lesson.steps.length;
    const done = index < this.session.step || this.session.completed;
    const result = h("div", { class: "check-result", "aria-live": "polite" });
    const quiz = step.quiz.length ? this.quizForm(step) : null;
    const checkLabel = step.quiz.length ? "Submit answers" : step.checks ? "Check" : "Continue";
    const checkButton = h("button", { type: "button", class: "btn btn-primary", "data-testid": "check" }, icon("check"), checkLabel);
    checkButton.addEventListener("click", () => this.check(step, quiz, checkButton, result));

    const nav = h("div", { class: "step-nav" },
      index > 0 ? h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.showStep(index - 1) }, icon("arrowLeft"), "Previous") : h("span"),
      done
        ? h("button", { type: "button", class: "btn", onclick: () => index + 1 < total ? this.showStep(index + 1) : this.finish() },
            index + 1 < total ? "Next step" : "Finish", icon("arrowRight"))
        : checkButton);

    replace(this.instructions, h("article", { class: "step", "data-step": String(index) },
      h("p", { class: "step-kicker" }, `Step ${index + 1} of ${total}`, done ? h("span", { class: "badge badge-done" }, icon("check"), "done") : null),
      h("h1", { class: "step-title" }, step.title),
      index === 0 ? this.notes() : null,
      this.prose(step.html, step.title),
      this.hint(step),
      quiz,
      result,
      nav));
  }

  private finish(): void {
    this.viewingFinish = true;
    this.renderInstructions();
  }

  private renderFinish(): void {
    this.viewStep = this.lesson.steps.length - 1;
    replace(this.instructions, h("article", { class: "step finish", "data-step": "finish" },
      h("div", { class: "finish-mark" }, icon("flag")),
      h("h1", { class: "step-title" }, "Lesson complete"),
      h("p", { class: "lead" }, `You finished all ${this.lesson.steps.length} steps of “${this.lesson.title}”.`),
      this.lesson.finish_html ? this.prose(this.lesson.finish_html) : null,
      h("p", { class: "muted" }, "Your machines stay until the countdown runs out (Extend adds time); End session removes them now."),
      h("div", { class: "step-nav" },
        h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.showStep(this.lesson.steps.length - 1) }, icon("arrowLeft"), "Review steps"),
        h("button", { type: "button", class: "btn btn-primary", "data-testid": "end-session", onclick: () => this.endAndLeave() }, "End session and clean up"))));
  }

  private async endAndLeave(): Promise<void> {
    try {
      await api.endSession(this.session.id);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) return toast((e as Error).message, "error");
    }
    toast("Session ended: its machines were removed.", "success");
    navigate("/");
  }

  private quizForm(step: StepDetail): HTMLFormElement {
    return h("form", { class: "quiz", onsubmit: (e: Event) => e.preventDefault() },
      step.quiz.map((q, qi) =>
        h("fieldset", { class: "quiz-item" },
          h("legend", null, q.question, q.multiple ? h("span", { class: "muted" }, " (choose all that apply)") : null),
          q.choices.map((choice, ci) =>
            h("label", { class: "quiz-choice" },
              h("input", { type: q.multiple ? "checkbox" : "radio", name: `q${qi}`, value: String(ci) }),
              h("span", null, choice))))));
  }

  private async check(step: StepDetail, quiz: HTMLFormElement | null, button: HTMLButtonElement, result: HTMLElement): Promise<void> {
    const answers = quiz
      ? step.quiz.map((_, qi) =>
          [...quiz.querySelectorAll<HTMLInputElement>(`input[name="q${qi}"]:checked`)].map((i) => Number(i.value)))
      : undefined;
    button.disabled = true;
    const label = [...button.childNodes];
    replace(button, h("span", { class: "spinner", "aria-hidden": "true" }), "Checking…");
    result.className = "check-result";
    result.replaceChildren();
    let outcome: CheckOutcome;
    this.checking = true;
    try {
      outcome = await api.check(this.session.id, answers);
    } catch (e) {
      result.className = "check-result fail";
      replace(result, h("p", { class: "result-title" }, icon("alert"), "The check could not run"), h("pre", null, (e as Error).message));
      return;
    } finally {
      this.checking = false;
      button.disabled = false;
      replace(button, ...label);
    }
    const details = outcome.results
      .filter((r) => r.message || r.output)
      .map((r) => h("div", { class: `result-item ${r.passed ? "ok" : "bad"}` },
        icon(r.passed ? "check" : "x"),
        h("div", { class: "result-body" },
          r.message ? h("p", { class: "result-message" }, r.message) : null,
          r.output?.trim() ? h("pre", { "aria-label": "Check output" }, r.output.trimEnd()) : null)));
    if (outcome.passed) {
      this.session.step = outcome.step;
      this.session.completed = outcome.completed;
      this.session.expires_at = outcome.expires_at;
      this.renderHeader();
      this.tick();
      const next = h("button", {
        type: "button", class: "btn btn-primary", "data-testid": "next",
        onclick: () => (outcome.completed ? this.finish() : this.showStep(outcome.step)),
      }, outcome.completed ? "Finish" : "Next step", icon("arrowRight"));
      result.className = "check-result pass";
      replace(result, h("p", { class: "result-title" }, icon("check"), outcome.completed ? "Well done: that was the last step." : "Step complete"), details);
      button.replaceWith(next);
      result.scrollIntoView({ block: "nearest", behavior: "smooth" });
      next.focus();
    } else {
      result.className = "check-result fail";
      const fallback = outcome.results.length === 0 ? h("pre", null, "The check did not pass.") : null;
      // The hint again, where a learner who is stuck is looking.
      replace(result, h("p", { class: "result-title" }, icon("x"), "Not yet"), details.length ? details : fallback, this.hint(step));
      result.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  /** The step's hint behind a "Show hint" disclosure, or nothing for a step without
   *  one. A native <details>: it opens by click, Enter or Space, and screen readers
   *  announce it as expanded or collapsed, with no script of ours in the way. */
  private hint(step: StepDetail): HTMLDetailsElement | null {
    if (step.hint_html === undefined) return null;
    const label = h("span", null, "Show hint");
    const details = h("details", { class: "hint" },
      h("summary", null, icon("lightbulb"), label),
      this.prose(step.hint_html));
    details.addEventListener("toggle", () => {
      label.textContent = details.open ? "Hide hint" : "Show hint";
      // Opened at the bottom of a failed check, it would unfold below the fold.
      if (details.open) details.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
    return details;
  }

  /** Server-rendered Markdown, with Run/Copy buttons on the marked code blocks. A
   *  leading heading that repeats the step's title is dropped (the page shows it). */
  /** How the lesson runs on this server, where that differs from what its text assumes. */
  private notes(): HTMLElement | null {
    const notes = this.lesson.notes ?? [];
    return notes.length
      ? h("aside", { class: "lesson-notes", role: "note", "aria-label": "About this server" },
          icon("alert"), h("ul", null, notes.map((n) => h("li", null, n))))
      : null;
  }

  private prose(html: string, title?: string): HTMLElement {
    const el = h("div", { class: "prose" });
    el.innerHTML = html;
    const first = el.firstElementChild;
    if (title && first && /^H[12]$/.test(first.tagName) && first.textContent?.trim().toLowerCase() === title.trim().toLowerCase()) {
      first.remove();
    }
    for (const a of el.querySelectorAll<HTMLAnchorElement>("a[href^='http']")) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
    for (const block of el.querySelectorAll<HTMLElement>("[data-action]")) this.enhance(block);
    return el;
  }

  private enhance(block: HTMLElement): void {
    const action = block.dataset.action;
    const text = (block.querySelector("code") ?? block).textContent?.replace(/\n$/, "") ?? "";
    const node = block.dataset.node || this.lesson.nodes[0];
    const interrupt = block.dataset.interrupt === "true";
    const inline = block.tagName !== "PRE";
    const buttons: HTMLElement[] = [];
    const copy = h("button", {
      type: "button", class: "code-btn code-copy", title: "Copy to the clipboard", "aria-label": `Copy: ${text}`,
      onclick: async (e: MouseEvent) => {
        const btn = e.currentTarget as HTMLElement;
        try {
          await copyText(text);
          btn.classList.add("copied");
          setTimeout(() => btn.classList.remove("copied"), 1200);
        } catch {
          toast("Copying was blocked by the browser", "error");
        }
      },
    }, icon("copy"), inline ? null : h("span", { class: "copy-label" }, "Copy"));
    if (action === "exec") {
      buttons.push(h("button", {
        type: "button", class: "code-btn code-run", "data-testid": "run", "data-node": node,
        title: `Run on ${node}${interrupt ? " (stops the running command first)" : ""}`,
        "aria-label": `Run on ${node}: ${text}`,
        onclick: () => this.run(node, text, interrupt, block),
      }, icon("play"), inline ? null : "Run"));
    }
    buttons.push(copy);
    if (inline) {
      block.after(h("span", { class: "code-actions inline" }, buttons));
      return;
    }
    const label = action === "exec"
      ? h("span", { class: "code-label" }, icon("terminal"), node, interrupt ? h("span", { class: "code-note" }, "· stops the running command first") : null)
      : h("span", { class: "code-label" }, "copy to use");
    const wrapper = h("div", { class: `code-block code-${action}` });
    block.replaceWith(wrapper);
    wrapper.append(h("div", { class: "code-head" }, label, h("span", { class: "code-actions" }, buttons)), block);
  }

  private run(node: string, text: string, interrupt: boolean, block: HTMLElement): void {
    const terminal = this.terminals.get(node);
    if (!terminal) {
      toast(this.session.status === "ready" ? `This lesson has no node “${node}”` : "The machines are not ready yet", "error");
      return;
    }
    this.selectNode(node);
    if (interrupt) terminal.type("\x03");
    // A keyboard sends CR for Enter; multi-line blocks are typed line by line.
    terminal.type(text.replace(/\r?\n/g, "\r") + "\r");
    (block.closest(".code-block") ?? block).classList.add("ran");
    terminal.focus();
  }

  // ---- the environment: start progress, then terminals ----

  private renderWorkspace(): void {
    const s = this.session;
    if (s.status === "starting" || s.status === "failed") {
      if (!this.startPanel) {
        this.startPanel = new StartPanel(this.lesson.nodes, () => this.retry());
        replace(this.workspace, this.startPanel.element);
      }
      if (s.status === "failed") this.startPanel.failed(s.error ?? "the environment could not be started");
      return;
    }
    if (s.status === "ended") return this.ended(s.end_reason ?? "ended");
    this.startPanel = null;
    if (this.terminals.size) return;
    const tabs = h("div", { class: "term-tabs", role: "tablist", "aria-label": "Nodes" });
    const panels = h("div", { class: "term-panels" });
    const status = h("div", { class: "term-status", role: "status" });
    for (const node of this.lesson.nodes) {
      const tab = h("button", {
        type: "button", role: "tab", id: `tab-${node}`, class: "term-tab", "data-node": node,
        "aria-controls": `panel-${node}`, "aria-selected": "false", tabindex: "-1",
        onclick: () => this.selectNode(node),
      }, h("span", { class: "conn-dot", "aria-hidden": "true" }), icon("terminal"), node);
      tab.addEventListener("keydown", (e: KeyboardEvent) => {
        const nodes = this.lesson.nodes;
        const i = nodes.indexOf(node);
        const next = e.key === "ArrowRight" ? nodes[(i + 1) % nodes.length] : e.key === "ArrowLeft" ? nodes[(i + nodes.length - 1) % nodes.length] : null;
        if (next) {
          e.preventDefault();
          this.selectNode(next);
          (tabs.querySelector(`[data-node="${next}"]`) as HTMLElement).focus();
        }
      });
      const view = new TerminalView({
        session: s.id, node, describedBy: TAB_MODE_ID,
        onState: (state, detail) => {
          tab.dataset.state = state;
          if (node === this.activeNode) this.showConnection(status, state, detail);
        },
      });
      const panel = h("div", { class: "term-panel", role: "tabpanel", id: `panel-${node}`, "aria-labelledby": `tab-${node}`, "data-node": node }, view.element);
      tabs.append(tab);
      panels.append(panel);
      this.terminals.set(node, view);
    }
    // The switch comes right after the terminals, so Tab out of one lands on it.
    replace(this.workspace, tabs, h("div", { class: "term-area" }, panels, status), h("div", { class: "term-foot" }, this.tabMode.element));
    for (const view of this.terminals.values()) view.open();
    this.selectNode(this.lesson.nodes[0]);
    this.terminals.get(this.lesson.nodes[0])?.focus();
  }

  private showConnection(status: HTMLElement, state: ConnectionState, detail?: string): void {
    status.dataset.state = state;
    status.textContent =
      state === "connected" ? "" : state === "reconnecting" ? `Reconnecting… (${detail ?? "connection lost"})` : state === "connecting" ? "Connecting…" : `Disconnected: ${detail ?? ""}`;
  }

  private selectNode(node: string): void {
    this.activeNode = node;
    for (const tab of this.workspace.querySelectorAll<HTMLElement>("[role=tab]")) {
      const on = tab.dataset.node === node;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    for (const panel of this.workspace.querySelectorAll<HTMLElement>(".term-panel")) {
      panel.classList.toggle("active", panel.dataset.node === node);
    }
    const view = this.terminals.get(node);
    if (view) {
      view.fitNow();
      const status = this.workspace.querySelector<HTMLElement>(".term-status");
      if (status) this.showConnection(status, view.connectionState());
    }
  }

  private async retry(): Promise<void> {
    try {
      await api.endSession(this.session.id);
    } catch {
      /* a failed session may already be gone */
    }
    navigate(location.pathname, true);
  }
}

/** The environment's start, as the events stream reports it. */
class StartPanel {
  readonly element: HTMLElement;
  private readonly nodes = new Map<string, HTMLElement>();
  private readonly pulls = h("div", { class: "pulls" });
  private readonly layers = new Map<string, HTMLElement>();
  private readonly log = h("pre", { class: "start-log", tabindex: "0", "aria-label": "Start log" });
  private readonly error = h("div", { class: "start-error", role: "alert" });
  private readonly title = h("h2", null, "Preparing your machines");
  private lines = 0;

  constructor(nodes: string[], private readonly onRetry: () => void) {
    this.element = h("div", { class: "start-panel", "aria-busy": "true" },
      h("div", { class: "start-head" }, h("span", { class: "spinner big", "aria-hidden": "true" }), this.title),
      h("ul", { class: "node-list" }, nodes.map((n) => {
        const status = h("span", { class: "node-status" }, "waiting");
        this.nodes.set(n, status);
        return h("li", { "data-node": n }, icon("terminal"), h("span", { class: "node-name" }, n), status);
      })),
      this.pulls,
      this.error,
      h("details", { class: "start-details", open: true }, h("summary", null, "Log"), this.log));
  }

  progress(p: Progress): void {
    switch (p.kind) {
      case "node": {
        const el = this.nodes.get(p.node);
        if (el) {
          el.textContent = p.status;
          el.dataset.status = p.status;
        }
        this.line(`[${p.node}] ${p.status}`);
        break;
      }
      case "pull": {
        const key = `${p.image} ${p.layer}`;
        let row = this.layers.get(key);
        if (!row) {
          row = h("div", { class: "pull-row" });
          this.layers.set(key, row);
          this.pulls.append(row);
        }
        const pct = p.total ? Math.round(((p.current ?? 0) / p.total) * 100) : null;
        replace(row,
          h("span", { class: "pull-name" }, `${p.image} ${p.layer}`),
          h("span", { class: "pull-status" }, p.status),
          pct === null ? null : h("progress", { max: "100", value: String(pct), "aria-label": `${p.layer} ${pct}%` }));
        break;
      }
      case "build":
        this.line(`[build ${p.image}] ${p.line}`);
        break;
      case "setup":
        this.line(`[${p.node}] ${p.line}`);
        break;
    }
  }

  failed(message: string): void {
    this.element.setAttribute("aria-busy", "false");
    this.element.classList.add("is-failed");
    this.title.textContent = "The machines could not be started";
    replace(this.error,
      h("p", { class: "result-title" }, icon("alert"), "Start failed"),
      h("pre", null, message),
      h("button", { type: "button", class: "btn btn-primary", onclick: () => this.onRetry() }, icon("refresh"), "Try again"));
  }

  private line(text: string): void {
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.append(text + "\n");
    if (++this.lines > MAX_LOG_LINES) this.log.firstChild?.remove();
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
