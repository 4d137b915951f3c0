// The lesson page: instructions on the left (steps, Run/Copy code blocks, quizzes,
// Check), the environment on the right (start progress, then one terminal tab per
// node), a header with the step progress, the countdown and the session's controls.
//
// Opening the page starts the learner's session for the lesson, or returns the live one
// (the server keeps one per learner and lesson), so a reload resumes where it was.

import type { Terminal } from "@xterm/xterm";
import { api, ApiError, errorText, forSession, withLang, type CheckOutcome, type LessonDetail, type Progress, type Session, type SessionEvent, type StepDetail } from "../api";
import { copyText, h, icon, replace, toast, type Props } from "../dom";
import { formatClock, formatDuration, formatPercent, t, tCode, uiLocale } from "../i18n";
import { frame, notice, pageTitle } from "../layout";
import { lessonPart, unavailableText } from "../translation";
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
  /** The nodes' editors opened so far (each loads CodeMirror's chunk on first use). */
  private readonly editors: import("../editor").NodeEditor[] = [];
  /** The workspace's tabs, in order: each node's terminal, editors, web ports. */
  private tabs: WorkspaceTab[] = [];
  /** The chosen terminal and the chosen other tab (a split layout shows both). */
  private readonly active: Record<WorkspaceTab["kind"], string> = { terminal: "", view: "" };
  private timer: number | undefined;
  private disposed = false;
  private checking = false;

  private readonly main: HTMLElement;
  private readonly titleEl = h("div", { class: "lesson-title" });
  private readonly progressEl = h("div", { class: "steps-progress" });
  private readonly countdown = h("span", { class: "countdown", role: "timer", "aria-live": "off" });
  private readonly actions = h("div", { class: "session-actions" });
  private readonly instructions = h("section", { class: "instructions", "aria-label": t("lesson.instructions") });
  private readonly workspace = h("section", { class: "workspace", "aria-label": t("lesson.terminals") });
  private startPanel: StartPanel | null = null;
  private readonly tabMode = tabModeSwitch(TAB_MODE_ID);
  /** The instructor's broadcast, for a class member. */
  private readonly banner = broadcastBanner();
  /** What happened to the lab's engine, until the learner dismisses it. */
  private readonly engineText = h("span");
  private readonly engineNotice = h("div", { class: "engine-notice", role: "alert", "data-testid": "engine-notice", hidden: true },
    this.engineText,
    h("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": t("class.dismiss"), onclick: () => (this.engineNotice.hidden = true) }, icon("x")));

  constructor(root: HTMLElement, private readonly lessonId: string) {
    pageTitle(t("lesson.pageTitle"));
    this.main = frame(root, {
      center: h("div", { class: "topbar-lesson" }, this.titleEl, this.progressEl),
      actions: [this.actions],
      pageClass: "lesson-main",
    });
    root.prepend(this.banner.element, this.engineNotice);
    this.main.append(h("div", { class: "loading", "aria-busy": "true" }, t("lesson.starting")));
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
    pageTitle(this.lesson.title);
    const title = lessonPart(this.lesson, "title");
    replace(this.titleEl, h("span", { lang: title.lang }, this.lesson.title), title.badge);
    const why = unavailableText(this.lesson);
    if (why) {
      // Starting would only fail with the same reason, after the learner waited.
      replace(this.main, notice(t("lesson.cannotStart"), why,
        h("a", { href: "/", class: "btn btn-primary" }, t("common.backToLessons"))));
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
    const title = e instanceof ApiError && e.status === 404 ? t("lesson.notFound") : t("lesson.startFailed");
    replace(this.main, notice(title, errorText(e),
      h("button", { class: "btn btn-primary", onclick: () => navigate(location.pathname, true) }, icon("refresh"), t("common.tryAgain")),
      h("a", { href: "/", class: "btn" }, t("common.backToLessons"))));
  }

  dispose(): void {
    this.disposed = true;
    this.events?.close();
    window.clearInterval(this.timer);
    for (const t of this.terminals.values()) t.dispose();
    this.terminals.clear();
    for (const e of this.editors) e.dispose();
    this.tabMode.dispose();
    this.banner.dispose();
    this.engineNotice.remove();
    delete window.playlab;
  }

  // ---- layout and the resizable split ----

  private layout(): void {
    const gutter = h("div", {
      class: "gutter", role: "separator", tabindex: "0", "aria-orientation": "vertical",
      "aria-label": t("lesson.resize"), "aria-valuemin": "20", "aria-valuemax": "75",
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
        class: "progress", role: "progressbar", "aria-label": t("lesson.progress"),
        "aria-valuemin": "0", "aria-valuemax": String(total), "aria-valuenow": String(done),
        "aria-valuetext": t("lesson.progressText", done, total),
      }, this.lesson.steps.map((step, i) =>
        h("button", {
          type: "button",
          class: `progress-seg ${i < done ? "done" : ""} ${i === done && !this.session.completed ? "current" : ""} ${i === this.viewStep ? "viewing" : ""}`,
          title: t("lesson.stepTitle", i + 1, step.title),
          "aria-label": i < done ? t("lesson.stepDone", i + 1, step.title) : t("lesson.stepTitle", i + 1, step.title),
          disabled: i > done || this.session.status !== "ready",
          onclick: () => this.showStep(i),
        }))),
      h("span", { class: "progress-label" }, `${done}/${total}`));

    const live = this.session.status === "starting" || this.session.status === "ready";
    replace(this.actions,
      live ? this.countdown : null,
      live ? h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.extend(), title: t("lesson.extendTitle") }, icon("plus"), t("common.extend")) : null,
      live ? h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.reset(), title: t("lesson.resetTitle") }, icon("refresh"), t("lesson.reset")) : null,
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
    }, help ? t("presence.stopHelp") : t("presence.allowHelp"));
    replace(this.presenceEl,
      watchers > 0
        ? h("span", { class: "presence-badge", "data-testid": "watched" }, icon("eye"), t("presence.watching", watchers))
        : null,
      watchers > 0 || help ? toggle : null);
  }

  private async setHelp(allow: boolean): Promise<void> {
    try {
      const state = await api.setHelp(this.session.id, allow);
      this.presence = { watchers: state.watchers, help: state.help };
      this.renderPresence();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  private tick(): void {
    const left = (Date.parse(this.session.expires_at) - Date.now()) / 1000;
    this.countdown.replaceChildren(icon("clock"), formatClock(left));
    this.countdown.classList.toggle("warn", left < WARN_SECONDS);
    this.countdown.setAttribute("aria-label", t("lesson.timeLeft", formatDuration(left, "long")));
  }

  private async extend(): Promise<void> {
    try {
      const r = await api.extend(this.session.id);
      this.session.expires_at = r.expires_at;
      this.tick();
      toast(t("common.sessionExtended"), "success");
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  private async reset(): Promise<void> {
    if (!confirm(t("lesson.confirmReset"))) return;
    try {
      await api.endSession(this.session.id);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) return toast(errorText(e), "error");
    }
    navigate(location.pathname, true);
  }

  // ---- events from the server ----

  private subscribe(): void {
    const es = new EventSource(withLang(`/api/sessions/${this.session.id}/events`));
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
        if (event.status === "ended") return this.ended(undefined);
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
        toast(t("lesson.expiryWarning", formatDuration(event.seconds_left)), "info");
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
      case "engine":
        this.engineText.textContent = t(event.notice === "unreachable" ? "engine.unreachable" : "engine.nodesRestarted");
        this.engineNotice.dataset.notice = event.notice;
        this.engineNotice.hidden = false;
        break;
    }
  }

  /** The session is over (`reason` as the server says it, when known). */
  private ended(reason: string | undefined): void {
    this.events?.close();
    this.session.status = "ended";
    for (const t of this.terminals.values()) t.dispose();
    this.terminals.clear();
    this.renderHeader();
    replace(this.workspace, notice(t("lesson.ended"),
      `${endReasonText(reason)} ${t("lesson.machinesRemoved")}`,
      h("button", { class: "btn btn-primary", onclick: () => navigate(location.pathname, true) }, icon("refresh"), t("lesson.newSession")),
      h("a", { href: "/", class: "btn" }, t("common.backToLessons"))));
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
      const intro = this.lesson.intro_html === null ? "description" : "intro";
      replace(this.instructions, h("div", { class: "step" },
        h("p", { class: "step-kicker" }, t("lesson.gettingReady")),
        this.text("h1", { class: "step-title" }, "title", this.lesson.title),
        this.notes(),
        this.page(intro, this.lesson.intro_html ?? `<p>${escapeHtml(this.lesson.description)}</p>`),
        h("h2", { class: "outline-title" }, t("lesson.outline")),
        h("ol", { class: "outline" }, this.lesson.steps.map((st, i) => this.text("li", null, `steps[${i}].title`, st.title)))));
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
    const quiz = step.quiz.length ? this.quizForm(step, index) : null;
    const checkLabel = step.quiz.length ? t("check.submit") : step.checks ? t("check.check") : t("check.continue");
    const checkButton = h("button", { type: "button", class: "btn btn-primary", "data-testid": "check" }, icon("check"), checkLabel);
    checkButton.addEventListener("click", () => this.check(step, index, quiz, checkButton, result));

    const nav = h("div", { class: "step-nav" },
      index > 0 ? h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.showStep(index - 1) }, icon("arrowLeft"), t("lesson.previous")) : h("span"),
      done
        ? h("button", { type: "button", class: "btn", onclick: () => index + 1 < total ? this.showStep(index + 1) : this.finish() },
            index + 1 < total ? t("lesson.next") : t("lesson.finish"), icon("arrowRight"))
        : checkButton);

    replace(this.instructions, h("article", { class: "step", "data-step": String(index) },
      h("p", { class: "step-kicker" }, t("lesson.kicker", index + 1, total), done ? h("span", { class: "badge badge-done" }, icon("check"), t("lesson.done")) : null),
      this.text("h1", { class: "step-title" }, `steps[${index}].title`, step.title),
      index === 0 ? this.notes() : null,
      this.page(`steps[${index}].text`, step.html, step.title),
      this.hint(step, index),
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
      h("h1", { class: "step-title" }, t("lesson.complete")),
      h("p", { class: "lead" }, t("lesson.completeLead", this.lesson.steps.length, this.lesson.title)),
      this.lesson.finish_html ? this.page("finish", this.lesson.finish_html) : null,
      h("p", { class: "muted" }, t("lesson.completeNote")),
      h("div", { class: "step-nav" },
        h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.showStep(this.lesson.steps.length - 1) }, icon("arrowLeft"), t("lesson.review")),
        h("button", { type: "button", class: "btn btn-primary", "data-testid": "end-session", onclick: () => this.endAndLeave() }, t("lesson.endSession")))));
  }

  private async endAndLeave(): Promise<void> {
    try {
      await api.endSession(this.session.id);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) return toast(errorText(e), "error");
    }
    toast(t("lesson.sessionEnded"), "success");
    navigate("/");
  }

  private quizForm(step: StepDetail, index: number): HTMLFormElement {
    return h("form", { class: "quiz", onsubmit: (e: Event) => e.preventDefault() },
      step.quiz.map((q, qi) => {
        const question = lessonPart(this.lesson, `steps[${index}].quiz[${qi}]`);
        return h("fieldset", { class: "quiz-item", lang: question.lang },
          h("legend", null, q.question, q.multiple ? h("span", { class: "muted", lang: uiLocale() }, t("quiz.multiple")) : null, question.badge),
          q.choices.map((choice, ci) =>
            h("label", { class: "quiz-choice" },
              h("input", { type: q.multiple ? "checkbox" : "radio", name: `q${qi}`, value: String(ci) }),
              h("span", null, choice))));
      }));
  }

  private async check(step: StepDetail, index: number, quiz: HTMLFormElement | null, button: HTMLButtonElement, result: HTMLElement): Promise<void> {
    const answers = quiz
      ? step.quiz.map((_, qi) =>
          [...quiz.querySelectorAll<HTMLInputElement>(`input[name="q${qi}"]:checked`)].map((i) => Number(i.value)))
      : undefined;
    button.disabled = true;
    const label = [...button.childNodes];
    replace(button, h("span", { class: "spinner", "aria-hidden": "true" }), t("check.checking"));
    result.className = "check-result";
    result.replaceChildren();
    let outcome: CheckOutcome;
    this.checking = true;
    try {
      outcome = await api.check(this.session.id, answers);
    } catch (e) {
      result.className = "check-result fail";
      replace(result, h("p", { class: "result-title" }, icon("alert"), t("check.couldNotRun")), h("pre", null, errorText(e)));
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
          r.output?.trim() ? h("pre", { "aria-label": t("check.output") }, r.output.trimEnd()) : null)));
    if (outcome.passed) {
      this.session.step = outcome.step;
      this.session.completed = outcome.completed;
      this.session.expires_at = outcome.expires_at;
      this.renderHeader();
      this.tick();
      const next = h("button", {
        type: "button", class: "btn btn-primary", "data-testid": "next",
        onclick: () => (outcome.completed ? this.finish() : this.showStep(outcome.step)),
      }, outcome.completed ? t("lesson.finish") : t("lesson.next"), icon("arrowRight"));
      result.className = "check-result pass";
      replace(result, h("p", { class: "result-title" }, icon("check"), outcome.completed ? t("check.lastStep") : t("check.stepComplete")), details);
      button.replaceWith(next);
      result.scrollIntoView({ block: "nearest", behavior: "smooth" });
      next.focus();
    } else {
      result.className = "check-result fail";
      const fallback = outcome.results.length === 0 ? h("pre", null, t("check.notPassed")) : null;
      // The hint again, where a learner who is stuck is looking.
      replace(result, h("p", { class: "result-title" }, icon("x"), t("check.notYet")), details.length ? details : fallback, this.hint(step, index));
      result.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  /** The step's hint behind a "Show hint" disclosure, or nothing for a step without
   *  one. A native <details>: it opens by click, Enter or Space, and screen readers
   *  announce it as expanded or collapsed, with no script of ours in the way. */
  private hint(step: StepDetail, index: number): HTMLDetailsElement | null {
    if (step.hint_html === undefined) return null;
    const { lang, badge } = lessonPart(this.lesson, `steps[${index}].hint`);
    const label = h("span", null, t("hint.show"));
    const details = h("details", { class: "hint" },
      h("summary", null, icon("lightbulb"), label, badge),
      this.prose(step.hint_html, lang));
    details.addEventListener("toggle", () => {
      label.textContent = details.open ? t("hint.hide") : t("hint.show");
      // Opened at the bottom of a failed check, it would unfold below the fold.
      if (details.open) details.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
    return details;
  }

  /** How the lesson runs on this server, where that differs from what its text assumes. */
  private notes(): HTMLElement | null {
    const notes = this.lesson.notes ?? [];
    return notes.length
      ? h("aside", { class: "lesson-notes", role: "note", "aria-label": t("lesson.notes") },
          icon("alert"), h("ul", null, notes.map((n) => h("li", null, n))))
      : null;
  }

  /** A short text of the lesson (`part`: a title) in a `tag` element, with its badge. */
  private text<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null, part: string, text: string): HTMLElementTagNameMap[K] {
    const { lang, badge } = lessonPart(this.lesson, part);
    return h(tag, props, h("span", { lang }, text), badge);
  }

  /** A page of the lesson's text (`part`: intro, a step's text, finish): its badge,
   *  then the page. */
  private page(part: string, html: string, title?: string): (HTMLElement | null)[] {
    const { lang, badge } = lessonPart(this.lesson, part);
    return [badge, this.prose(html, lang, title)];
  }

  /** Server-rendered Markdown in the language `lang`, with Run/Copy buttons on the
   *  marked code blocks. A leading heading that repeats the step's title is dropped
   *  (the page shows it). */
  private prose(html: string, lang: string, title?: string): HTMLElement {
    const el = h("div", { class: "prose", lang });
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
    for (const link of el.querySelectorAll<HTMLAnchorElement>("a.traffic-link")) this.trafficLink(link);
    return el;
  }

  /** A Killercoda traffic link (`{{TRAFFIC_HOST1_80}}`: port 80 on the lesson's first
   *  node; `{{TRAFFIC_SELECTOR}}`: a page to pick a node and a port) made to point at
   *  this session's ports. A bare marker shows the address itself, as on Killercoda. */
  private trafficLink(link: HTMLAnchorElement): void {
    const traffic = this.lesson.traffic;
    const session = this.session.id;
    link.target = "_blank";
    link.rel = "noopener";
    if (link.hasAttribute("data-traffic-selector")) {
      link.href = forSession(traffic.selector, session);
      return;
    }
    const node = this.lesson.nodes[Number(link.dataset.trafficHost) - 1];
    if (!node) return link.replaceWith(link.textContent ?? "");
    const fill = (template: string) => forSession(template, session)
      .replace("{node}", encodeURIComponent(node))
      .replace("{port}", String(Number(link.dataset.trafficPort)));
    link.href = fill(traffic.open);
    if (link.hasAttribute("data-traffic-bare")) link.textContent = location.origin + fill(traffic.url);
  }

  private enhance(block: HTMLElement): void {
    const action = block.dataset.action;
    const text = (block.querySelector("code") ?? block).textContent?.replace(/\n$/, "") ?? "";
    const node = block.dataset.node || this.lesson.nodes[0];
    const interrupt = block.dataset.interrupt === "true";
    const inline = block.tagName !== "PRE";
    const buttons: HTMLElement[] = [];
    const copy = h("button", {
      type: "button", class: "code-btn code-copy", title: t("code.copyTitle"), "aria-label": t("code.copyLabel", text), "data-copied": t("code.copied"),
      onclick: async (e: MouseEvent) => {
        const btn = e.currentTarget as HTMLElement;
        try {
          await copyText(text);
          btn.classList.add("copied");
          setTimeout(() => btn.classList.remove("copied"), 1200);
        } catch {
          toast(t("code.copyBlocked"), "error");
        }
      },
    }, icon("copy"), inline ? null : h("span", { class: "copy-label" }, t("code.copy")));
    if (action === "exec") {
      buttons.push(h("button", {
        type: "button", class: "code-btn code-run", "data-testid": "run", "data-node": node,
        title: interrupt ? t("code.runInterruptTitle", node) : t("code.runTitle", node),
        "aria-label": t("code.runLabel", node, text),
        onclick: () => this.run(node, text, interrupt, block),
      }, icon("play"), inline ? null : t("code.run")));
    }
    buttons.push(copy);
    if (inline) {
      block.after(h("span", { class: "code-actions inline" }, buttons));
      return;
    }
    const label = action === "exec"
      ? h("span", { class: "code-label", "data-ran": t("code.ran") }, icon("terminal"), node, interrupt ? h("span", { class: "code-note" }, t("code.interrupts")) : null)
      : h("span", { class: "code-label" }, t("code.copyToUse"));
    const wrapper = h("div", { class: `code-block code-${action}` });
    block.replaceWith(wrapper);
    wrapper.append(h("div", { class: "code-head" }, label, h("span", { class: "code-actions" }, buttons)), block);
  }

  private run(node: string, text: string, interrupt: boolean, block: HTMLElement): void {
    const terminal = this.terminals.get(node);
    if (!terminal) {
      toast(this.session.status === "ready" ? t("code.noNode", node) : t("code.notReady"), "error");
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
      if (s.status === "failed") this.startPanel.failed(s.error);
      return;
    }
    if (s.status === "ended") return this.ended(s.end_reason);
    this.startPanel = null;
    if (this.terminals.size) return;
    const tabs = h("div", { class: "term-tabs", role: "tablist", "aria-label": t("term.nodes") });
    const panels = h("div", { class: "term-panels" });
    const status = h("div", { class: "term-status", role: "status" });
    this.tabs = [];
    for (const node of this.lesson.nodes) {
      const tab = this.addTab(tabs, panels, { key: `term:${node}`, id: node, kind: "terminal", label: [h("span", { class: "conn-dot", "aria-hidden": "true" }), icon("terminal"), node] });
      tab.tab.dataset.node = node;
      tab.panel.dataset.node = node;
      const view = new TerminalView({
        session: s.id, node, describedBy: TAB_MODE_ID,
        onState: (state, detail) => {
          tab.tab.dataset.state = state;
          if (tab.key === this.active.terminal) this.showConnection(status, state, detail);
        },
      });
      tab.panel.append(view.element);
      tab.show = () => {
        view.fitNow();
        this.showConnection(status, view.connectionState());
      };
      this.terminals.set(node, view);
    }
    this.addViewTabs(tabs, panels);
    // The switch comes right after the terminals, so Tab out of one lands on it.
    replace(this.workspace, tabs, h("div", { class: "term-area" }, panels, status), h("div", { class: "term-foot" }, this.tabMode.element));
    this.workspace.classList.toggle("layout-split", this.split());
    for (const view of this.terminals.values()) view.open();
    if (this.split()) this.selectTab(`editor:${this.lesson.nodes[0]}`);
    this.selectNode(this.lesson.nodes[0]);
    this.terminals.get(this.lesson.nodes[0])?.focus();
  }

  /** Whether an editor shows above the terminals (Killercoda's `editor-terminal` and
   *  `ide` layouts), instead of every tab taking the whole workspace. */
  private split(): boolean {
    return this.lesson.layout === "editor-terminal" || this.lesson.layout === "ide";
  }

  /** The tabs beside the terminals: each node's editor, then the lesson's web ports. */
  private addViewTabs(tabs: HTMLElement, panels: HTMLElement): void {
    const session = this.session.id;
    const settings = this.lesson.editor ?? { root: "/root", restricted: false };
    for (const node of this.lesson.nodes) {
      const tab = this.addTab(tabs, panels, { key: `editor:${node}`, id: `editor-${node}`, kind: "view", label: [icon("file"), t("editor.tab", node)] });
      let editor: Promise<void> | null = null;
      tab.show = () => {
        // CodeMirror comes in its own chunk, the first time an editor is opened.
        editor ??= import("../editor").then(({ NodeEditor }) => {
          if (this.disposed) return;
          const e = new NodeEditor(session, node, settings);
          this.editors.push(e);
          tab.panel.append(e.element);
        }, (e) => {
          tab.panel.append(h("p", { class: "file-error" }, errorText(e)));
        });
        editor.then(() => this.editors.find((e) => e.node === node)?.show());
      };
    }
    this.lesson.ports.forEach((port, i) => {
      const title = port.title || `${port.node}:${port.port}`;
      const tab = this.addTab(tabs, panels, { key: `port:${i}`, id: `port-${i}`, kind: "view", label: [icon("globe"), title] });
      tab.tab.dataset.port = `${port.node}:${port.port}`;
      const open = forSession(port.open, session);
      const frame = h("iframe", { class: "port-frame", title, "data-testid": "port-frame" });
      tab.panel.append(
        h("div", { class: "port-bar" },
          h("span", { class: "port-address" }, `${port.node}:${port.port}${port.path}`),
          h("button", { type: "button", class: "btn btn-small btn-ghost", title: t("ports.reload"), onclick: () => (frame.src = open) }, icon("refresh"), t("ports.reload")),
          h("a", { class: "btn btn-small btn-ghost", href: open, target: "_blank", rel: "noopener" }, t("ports.newWindow"))),
        frame);
      // Loaded when first shown: a port the learner has not started yet would only
      // show its "not listening" page.
      tab.show = () => {
        if (!frame.src) frame.src = open;
      };
    });
  }

  /** One tab and its panel, keyboard-navigable among the others (arrow keys). */
  private addTab(tabs: HTMLElement, panels: HTMLElement, spec: { key: string; id: string; kind: WorkspaceTab["kind"]; label: (Node | string)[] }): WorkspaceTab {
    const tab = h("button", {
      type: "button", role: "tab", id: `tab-${spec.id}`, class: `term-tab tab-${spec.kind}`, "data-tab": spec.key,
      "aria-controls": `panel-${spec.id}`, "aria-selected": "false", tabindex: "-1",
      onclick: () => this.selectTab(spec.key),
    }, ...spec.label);
    tab.addEventListener("keydown", (e: KeyboardEvent) => {
      const i = this.tabs.findIndex((x) => x.key === spec.key);
      const n = this.tabs.length;
      const next = e.key === "ArrowRight" ? this.tabs[(i + 1) % n] : e.key === "ArrowLeft" ? this.tabs[(i + n - 1) % n] : null;
      if (next) {
        e.preventDefault();
        this.selectTab(next.key);
        next.tab.focus();
      }
    });
    const panel = h("div", { class: `term-panel panel-${spec.kind}`, role: "tabpanel", id: `panel-${spec.id}`, "aria-labelledby": `tab-${spec.id}` });
    tabs.append(tab);
    panels.append(panel);
    const entry: WorkspaceTab = { key: spec.key, kind: spec.kind, tab, panel, show: () => {} };
    this.tabs.push(entry);
    return entry;
  }

  private showConnection(status: HTMLElement, state: ConnectionState, detail?: string): void {
    status.dataset.state = state;
    status.textContent =
      state === "connected" ? "" : state === "reconnecting" ? t("term.reconnecting", detail ?? t("term.connectionLost"))
        : state === "connecting" ? t("term.connecting") : t("term.disconnected", detail ?? "");
  }

  private selectNode(node: string): void {
    this.selectTab(`term:${node}`);
  }

  /** Shows a tab. One tab fills the workspace; in a split layout the chosen editor
   *  or port stays above the chosen terminal, so each kind has its own choice. */
  private selectTab(key: string): void {
    const chosen = this.tabs.find((x) => x.key === key);
    if (!chosen) return;
    this.active[chosen.kind] = key;
    const split = this.split();
    for (const x of this.tabs) {
      const on = x.key === key || (split && this.active[x.kind] === x.key);
      x.tab.setAttribute("aria-selected", String(on));
      x.tab.tabIndex = x.key === key ? 0 : -1;
      x.panel.classList.toggle("active", on);
    }
    chosen.show();
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

/** A tab of the workspace and its panel: a node's terminal, or a view (a node's
 *  editor, a web port); `show` runs each time it is chosen. */
interface WorkspaceTab {
  key: string;
  kind: "terminal" | "view";
  tab: HTMLElement;
  panel: HTMLElement;
  show: () => void;
}

/** The environment's start, as the events stream reports it. */
class StartPanel {
  readonly element: HTMLElement;
  private readonly nodes = new Map<string, HTMLElement>();
  private readonly pulls = h("div", { class: "pulls" });
  private readonly layers = new Map<string, HTMLElement>();
  private readonly log = h("pre", { class: "start-log", tabindex: "0", "aria-label": t("start.logLabel") });
  private readonly error = h("div", { class: "start-error", role: "alert" });
  private readonly title = h("h2", null, t("start.title"));
  private lines = 0;

  constructor(nodes: string[], private readonly onRetry: () => void) {
    this.element = h("div", { class: "start-panel", "aria-busy": "true" },
      h("div", { class: "start-head" }, h("span", { class: "spinner big", "aria-hidden": "true" }), this.title),
      h("ul", { class: "node-list" }, nodes.map((n) => {
        const status = h("span", { class: "node-status" }, t("node.waiting"));
        this.nodes.set(n, status);
        return h("li", { "data-node": n }, icon("terminal"), h("span", { class: "node-name" }, n), status);
      })),
      this.pulls,
      this.error,
      h("details", { class: "start-details", open: true }, h("summary", null, t("start.log")), this.log));
  }

  progress(p: Progress): void {
    switch (p.kind) {
      case "node": {
        const el = this.nodes.get(p.node);
        if (el) {
          el.textContent = tCode("node", p.status, p.status);
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
        const done = p.total ? (p.current ?? 0) / p.total : null;
        replace(row,
          h("span", { class: "pull-name" }, `${p.image} ${p.layer}`),
          h("span", { class: "pull-status" }, p.status),
          done === null ? null : h("progress", { max: "100", value: String(Math.round(done * 100)), "aria-label": `${p.layer} ${formatPercent(done)}` }));
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

  /** The start failed; `reason` is the runner's message, when it gave one. */
  failed(reason: string | undefined): void {
    this.element.setAttribute("aria-busy", "false");
    this.element.classList.add("is-failed");
    this.title.textContent = t("start.failedTitle");
    replace(this.error,
      h("p", { class: "result-title" }, icon("alert"), t("start.failed")),
      reason ? h("pre", null, reason) : null,
      h("button", { type: "button", class: "btn btn-primary", onclick: () => this.onRetry() }, icon("refresh"), t("common.tryAgain")));
  }

  private line(text: string): void {
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.append(text + "\n");
    if (++this.lines > MAX_LOG_LINES) this.log.firstChild?.remove();
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }
}

/** The server's end reasons: codes, and sentences where a restart could not take the
 *  session back (see `EndReason::as_str` in server/src/serve/status.rs). */
const END_REASON_CODES = new Map([
  ["the server restarted while the environment was starting", "restartedWhileStarting"],
  ["the environment was gone after a restart", "environmentGone"],
  ["the lesson is no longer in the content directory", "lessonGone"],
]);

/** Why a session ended, for the learner; a reason this version does not know is
 *  shown as the server wrote it. */
function endReasonText(reason: string | undefined): string {
  if (reason === undefined) return t("end.unknown");
  return tCode("end", END_REASON_CODES.get(reason) ?? reason, t("end.other", reason));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
