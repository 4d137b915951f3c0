// The interface's words, in English and Chinese: one message catalogue, the language
// choice, and the formatting of numbers, dates and durations for that language.
//
// Why a typed catalogue and the browser's Intl rather than an i18n library: the
// catalogue is two TypeScript objects, and `zh` has the type derived from `en`, so the
// compiler proves that every message exists in both languages with the same parameters
// (a missing or misspelt key, or a message called with the wrong arguments, fails the
// build instead of showing a key at run time). What a library adds beyond lookup is
// plurals, numbers and dates, and Intl does those natively in every browser we target
// (PluralRules, NumberFormat, DateTimeFormat, RelativeTimeFormat, ListFormat,
// DisplayNames); with two languages, one of them without plurals, a message format
// parser would be a runtime dependency for nothing.
//
// **Invariant:** every word the UI shows (text, aria-label, title, placeholder, toast,
// confirm) comes from this catalogue; lesson text comes from the server in the
// language `acceptLanguage()` asks for.

/** The interface's languages. */
export type Language = "en" | "zh";

/** Each language's name in itself, for the switch (the same in every UI language). */
export const LANGUAGE_NAMES: Record<Language, string> = { en: "English", zh: "中文" };

/** The BCP 47 tag of each language, for `<html lang>` and for Intl. */
const LOCALES: Record<Language, string> = { en: "en", zh: "zh-CN" };

const STORAGE_KEY = "playlab.lang";

function isLanguage(value: unknown): value is Language {
  return value === "en" || value === "zh";
}

/** The stored choice, else the first browser language we have, else English. */
function detect(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (isLanguage(saved)) return saved;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const primary = tag.split("-")[0].toLowerCase();
    if (isLanguage(primary)) return primary;
  }
  return "en";
}

let current: Language = detect();
document.documentElement.lang = LOCALES[current];
const listeners = new Set<(language: Language) => void>();

export function uiLanguage(): Language {
  return current;
}

/** The locale for Intl formatting (`en`, `zh-CN`). */
export function uiLocale(): string {
  return LOCALES[current];
}

/** Switches the interface's language and remembers the choice; listeners re-render. */
export function setUiLanguage(language: Language): void {
  localStorage.setItem(STORAGE_KEY, language);
  current = language;
  document.documentElement.lang = LOCALES[language];
  listeners.forEach((listener) => listener(language));
}

/** Calls `listener` after every switch of language. */
export function onLanguageChange(listener: (language: Language) => void): void {
  listeners.add(listener);
}

/** What the API is asked for, so lesson text is in the interface's language (with
 *  English as the next best for a lesson that has no Chinese). */
export function acceptLanguage(): string {
  return current === "zh" ? "zh-CN,zh;q=0.9,en;q=0.5" : "en";
}

// ---- formatting ----

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(uiLocale()).format(n);
}

export function formatPercent(fraction: number): string {
  return new Intl.NumberFormat(uiLocale(), { style: "percent" }).format(fraction);
}

/** A size in bytes, in decimal units (B, kB, MB). */
export function formatBytes(bytes: number): string {
  const [value, unit] = bytes < 1000 ? [bytes, "byte"] : bytes < 1e6 ? [bytes / 1e3, "kilobyte"] : [bytes / 1e6, "megabyte"];
  return new Intl.NumberFormat(uiLocale(), { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1 }).format(value);
}

/** A moment as date and time (`Dec 3, 2026, 9:30 AM` / `2026年12月3日 09:30`). */
export function formatDateTime(at: string | Date): string {
  return new Intl.DateTimeFormat(uiLocale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(at));
}

/** The time of day of a moment, with seconds. */
export function formatTimeOfDay(at: Date): string {
  return new Intl.DateTimeFormat(uiLocale(), { timeStyle: "medium" }).format(at);
}

/** A moment relative to now: `in 12 min.`, `3 min. ago` / `12分钟后`, `3分钟前`. */
export function formatRelative(at: string, now = Date.now()): string {
  const seconds = (Date.parse(at) - now) / 1000;
  const abs = Math.abs(seconds);
  const format = new Intl.RelativeTimeFormat(uiLocale(), { style: "short", numeric: "always" });
  if (abs < 60) return format.format(Math.round(seconds), "second");
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 48 * 3600) return format.format(Math.round(seconds / 360) / 10, "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

/** A length of time in words: `1 hr, 5 min` / `1小时5分钟` (`long`: `1 hour, 5 minutes`). */
export function formatDuration(totalSeconds: number, unitDisplay: "short" | "long" = "short"): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const parts = ([[Math.floor(s / 3600), "hour"], [Math.floor((s % 3600) / 60), "minute"], [s % 60, "second"]] as const)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => new Intl.NumberFormat(uiLocale(), { style: "unit", unit, unitDisplay }).format(value));
  if (parts.length === 0) return new Intl.NumberFormat(uiLocale(), { style: "unit", unit: "second", unitDisplay }).format(0);
  return new Intl.ListFormat(uiLocale(), { type: "unit", style: unitDisplay === "long" ? "long" : "narrow" }).format(parts);
}

/** A lesson's estimated duration as the API writes it (`5m`, `1h 30m`), in words;
 *  a text it cannot read is shown as it is. */
export function formatLessonDuration(text: string): string {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  const parts = text.trim().split(/\s+/).map((part) => /^(\d+)([hms])$/.exec(part));
  if (parts.some((p) => p === null)) return text;
  return formatDuration(parts.reduce((sum, p) => sum + Number(p![1]) * units[p![2]], 0));
}

/** A countdown's digits: `m:ss` or `h:mm:ss`. */
export function formatClock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const plain = new Intl.NumberFormat(uiLocale(), { useGrouping: false });
  const twoDigits = new Intl.NumberFormat(uiLocale(), { minimumIntegerDigits: 2, useGrouping: false });
  const [hours, minutes, seconds] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return hours > 0
    ? `${plain.format(hours)}:${twoDigits.format(minutes)}:${twoDigits.format(seconds)}`
    : `${plain.format(minutes)}:${twoDigits.format(seconds)}`;
}

/** A language's name in the interface's language (`zh` → `Chinese` / `中文`). */
export function languageName(tag: string): string {
  return new Intl.DisplayNames(uiLocale(), { type: "language" }).of(tag) ?? tag;
}

/** English's singular or plural form for a count; `{n}` becomes the number. */
function plural(n: number, one: string, other: string): string {
  return (new Intl.PluralRules("en").select(n) === "one" ? one : other).replace("{n}", formatNumber(n));
}

// ---- the catalogue ----

type Message = string | ((...args: never[]) => string);

const en = {
  // the frame
  "layout.home": "playlab home",
  "layout.skip": "Skip to content",
  "layout.language": "Language",
  "theme.system": "system",
  "theme.light": "light",
  "theme.dark": "dark",
  "theme.label": (current: string, next: string) => `Theme: ${current} (switch to ${next})`,
  "notFound.title": "Page not found",
  "notFound.body": (path: string) => `Nothing lives at ${path}.`,
  "common.backToLessons": "Back to the lessons",
  "common.lessons": "Lessons",
  "common.dashboard": "Dashboard",
  "common.tryAgain": "Try again",
  "common.close": "Close",
  "common.refresh": "Refresh",
  "common.joinCode": "Join code",
  "common.join": "Join",
  "common.learner": "Learner",
  "common.lesson": "Lesson",
  "common.step": "Step",
  "common.status": "Status",
  "common.node": "Node",
  "common.started": "Started",
  "common.extend": "Extend",
  "common.end": "End",
  "common.resetStep": "Reset step",
  "common.resetLesson": "Reset lesson",
  "common.sessionExtended": "Session extended",
  "common.sessionEnded": "Session ended",
  "common.steps": (n: number) => plural(n, "{n} step", "{n} steps"),
  "common.failedWith": (what: string, detail: string) => `${what}: ${detail}`,

  // lesson text the server could not give in the interface's language
  "translation.untranslated": (language: string) => `${language} original, not translated`,
  "translation.stale": "translation may be out of date",

  // statuses and reasons the server reports as codes
  "status.starting": "starting",
  "status.ready": "ready",
  "status.failed": "failed",
  "status.ended": "ended",
  "difficulty.beginner": "beginner",
  "difficulty.intermediate": "intermediate",
  "difficulty.advanced": "advanced",
  "node.waiting": "waiting",
  "node.creating": "creating",
  "node.started": "started",
  "node.ready": "ready",
  "end.finished": "You finished the lesson.",
  "end.deleted": "It was ended.",
  "end.expired": "Its time ran out.",
  "end.idle": "It was idle for too long.",
  "end.shutdown": "The server was shut down.",
  "end.failed": "Its environment could not be started.",
  "end.restartedWhileStarting": "The server restarted while the environment was starting.",
  "end.environmentGone": "Its environment was gone after a restart of the server.",
  "end.lessonGone": "The lesson is no longer on this server.",
  "end.unknown": "It ended.",
  "end.other": (reason: string) => `It ended: ${reason}.`,

  // the API's error codes (`{error, message}`); a function gets the server's message
  "error.file_not_found": "There is no such file on the node.",
  "error.outside_root": (detail: string) => `This path is outside the folder the lesson lets you edit: ${detail}`,
  "error.file_too_large": (detail: string) => `This file is too large for the editor: ${detail}`,
  "error.binary_file": "This is a binary file; the editor opens text files only. Download it instead.",
  "error.changed_on_disk": "The file changed on the node since you opened it.",
  "error.network": "Cannot reach the playlab server. Check your connection and try again.",
  "error.not_found": "Not found.",
  "error.lesson_not_found": "There is no such lesson.",
  "error.session_not_found": "There is no such session.",
  "error.class_not_found": "There is no such class.",
  "error.node_not_found": "The lesson has no such node.",
  "error.forbidden": "This session belongs to someone else.",
  "error.at_capacity": "The lab is full; try again in a minute.",
  "error.not_ready": "The session is not ready yet.",
  "error.bad_answers": (detail: string) => `These answers do not fit the quiz: ${detail}`,
  "error.backend_error": (detail: string) => `The machines failed: ${detail}`,
  "error.backend_unreachable": "The server cannot reach its container engine.",
  "error.cannot_reset": (detail: string) => `The environment cannot be reset to this step: ${detail}`,
  "error.join_required": "Enter the join code first.",
  "error.instructor_only": "This is for the instructor; learners cannot use it.",
  "error.admin_required": "This needs the admin token.",
  "error.learner_only": "Only the session's learner can let an instructor type in their terminals.",
  "error.wrong_code": "That join code is not right; check it with your instructor.",
  "error.wrong_token": "That admin token is not right.",
  "error.too_many_attempts": "Too many join attempts from your address; wait a little and try again.",
  "error.class_full": "The class is full; ask your instructor.",
  "error.class_over": "The class has ended.",
  "error.in_another_class": "You are already in another class; a learner is in one class at a time.",
  "error.not_in_a_class": "You are not in a class; join one with its code first.",
  "error.lesson_not_in_class": "This lesson is not part of your class.",
  "error.bad_name": (detail: string) => `This name cannot be used: ${detail}`,
  "error.bad_class": (detail: string) => `The class cannot be created: ${detail}`,
  "error.bad_message": (detail: string) => `This message cannot be sent: ${detail}`,
  "error.bad_body": (detail: string) => `The server could not read the request: ${detail}`,
  "error.invalid_body": (detail: string) => `The server could not read the request: ${detail}`,
  "error.not_json": "The server could not read the request.",
  "error.reload_failed": (detail: string) => `The lessons could not be reloaded: ${detail}`,
  "error.csv_failed": (detail: string) => `The roster could not be exported: ${detail}`,
  "error.database_error": (detail: string) => `The server's database failed: ${detail}`,
  "error.internal": (detail: string) => `The server failed: ${detail}`,

  // the catalog
  "catalog.loading": "Loading lessons…",
  "catalog.loadFailed": "Could not load the lessons",
  "catalog.heading": "Hands-on labs",
  "catalog.lead": "Pick a lesson: you get your own disposable machines, a real terminal on each, and checks that tell you when you got it right.",
  "catalog.empty": "No lessons yet",
  "catalog.emptyBody": "This server's content folder has no lessons. Add one and it shows up here.",
  "catalog.filter": "Filter by tag",
  "catalog.count": (n: number) => plural(n, "{n} lesson", "{n} lessons"),
  "catalog.countFiltered": (shown: number, total: number) => `${formatNumber(shown)} of ${formatNumber(total)} lessons`,
  "catalog.finished": "Finished",
  "catalog.inProgress": (step: number, steps: number) => `In progress · step ${formatNumber(step)} of ${formatNumber(steps)}`,
  "catalog.unavailable": "Not available here",
  "unavailable.system_nodes_not_allowed": "This lesson needs system nodes (systemd, containerd or Docker inside its nodes), and this server's operator has not allowed them (--allow-system-nodes).",
  "unavailable.invalid_environment": "This lesson's environment cannot be created on this server.",
  "catalog.tags": "Tags",
  "catalog.why": "Why",
  "catalog.resume": "Resume",
  "catalog.start": "Start",

  // joining
  "join.title": "Join the lab",
  "join.lead": "Enter the join code your instructor gave you.",
  "classJoin.title": "Join your class",
  "classJoin.lead": "Enter the join code your instructor gave you and the name they will see.",
  "classJoin.name": "Your name",
  "classJoin.already": (name: string) => `You are in the class ${name}.`,
  "classJoin.toClass": "Go to your class",

  // a learner's class
  "class.title": "Your class",
  "class.hello": (name: string) => `Signed in as ${name}.`,
  "class.lessons": "Lessons of this class",
  "class.open": "Open",
  "class.notInClass": "You are not in a class",
  "class.join": "Join a class",
  "class.from": "Message from your instructor: ",
  "class.dismiss": "Dismiss",
  "engine.unreachable": "The lab's container engine stopped answering. Your terminals and checks will work again when it is back; your files are kept.",
  "engine.nodesRestarted": "The lab's container engine restarted, and so did your machines: your files are kept, but programs that were running were stopped. Your terminals are fresh shells; start again what you had running.",

  // the lesson page
  "lesson.pageTitle": "Lesson",
  "lesson.instructions": "Instructions",
  "lesson.terminals": "Terminals",
  "lesson.starting": "Starting your lesson…",
  "lesson.cannotStart": "This lesson cannot start on this server",
  "lesson.notFound": "Lesson not found",
  "lesson.startFailed": "Could not start the lesson",
  "lesson.resize": "Resize instructions and terminals",
  "lesson.progress": "Lesson progress",
  "lesson.progressText": (done: number, total: number) => `${formatNumber(done)} of ${plural(total, "{n} step", "{n} steps")} done`,
  "lesson.stepTitle": (n: number, title: string) => `Step ${formatNumber(n)}: ${title}`,
  "lesson.stepDone": (n: number, title: string) => `Step ${formatNumber(n)}: ${title} (done)`,
  "lesson.extendTitle": "Add time to this session",
  "lesson.reset": "Reset",
  "lesson.resetTitle": "Destroy the machines and start over",
  "lesson.confirmReset": "Reset the environment? Your machines are destroyed and the lesson starts over from step 1.",
  "lesson.timeLeft": (left: string) => `Time left: ${left}`,
  "lesson.expiryWarning": (left: string) => `Your session ends in ${left}. Use Extend for more time.`,
  "lesson.ended": "This session has ended",
  "lesson.machinesRemoved": "Its machines were removed.",
  "lesson.newSession": "Start a new session",
  "lesson.gettingReady": "Getting ready",
  "lesson.outline": "What you will do",
  "lesson.kicker": (n: number, total: number) => `Step ${formatNumber(n)} of ${formatNumber(total)}`,
  "lesson.done": "done",
  "lesson.previous": "Previous",
  "lesson.next": "Next step",
  "lesson.finish": "Finish",
  "lesson.complete": "Lesson complete",
  "lesson.completeLead": (steps: number, title: string) => `You finished all ${plural(steps, "{n} step", "{n} steps")} of “${title}”.`,
  "lesson.completeNote": "Your machines stay until the countdown runs out (Extend adds time); End session removes them now.",
  "lesson.review": "Review steps",
  "lesson.endSession": "End session and clean up",
  "lesson.sessionEnded": "Session ended: its machines were removed.",
  "lesson.notes": "About this server",
  "presence.stopHelp": "Stop the instructor typing",
  "presence.allowHelp": "Let the instructor type",
  "presence.watching": (n: number) => (n === 1 ? "An instructor is watching" : `${formatNumber(n)} instructors are watching`),

  // checks, hints, quizzes
  "check.submit": "Submit answers",
  "check.check": "Check",
  "check.continue": "Continue",
  "check.checking": "Checking…",
  "check.couldNotRun": "The check could not run",
  "check.output": "Check output",
  "check.lastStep": "Well done: that was the last step.",
  "check.stepComplete": "Step complete",
  "check.notPassed": "The check did not pass.",
  "check.notYet": "Not yet",
  "hint.show": "Show hint",
  "hint.hide": "Hide hint",
  "quiz.multiple": " (choose all that apply)",

  // code blocks
  "code.copyTitle": "Copy to the clipboard",
  "code.copyLabel": (text: string) => `Copy: ${text}`,
  "code.copy": "Copy",
  "code.copyBlocked": "Copying was blocked by the browser",
  "code.copied": "Copied",
  "code.run": "Run",
  "code.runTitle": (node: string) => `Run on ${node}`,
  "code.runInterruptTitle": (node: string) => `Run on ${node} (stops the running command first)`,
  "code.runLabel": (node: string, text: string) => `Run on ${node}: ${text}`,
  "code.interrupts": "· stops the running command first",
  "code.copyToUse": "copy to use",
  "code.ran": "ran",
  "code.noNode": (node: string) => `This lesson has no node “${node}”`,
  "code.notReady": "The machines are not ready yet",

  // the environment's start and the terminals
  "start.title": "Preparing your machines",
  "start.log": "Log",
  "start.logLabel": "Start log",
  "start.failedTitle": "The machines could not be started",
  "start.failed": "The environment could not be started",
  "term.nodes": "Nodes",
  "term.connecting": "Connecting…",
  "term.reconnecting": (why: string) => `Reconnecting… (${why})`,
  "term.disconnected": (why: string) => `Disconnected: ${why}`,
  "term.connectionLost": "connection lost",
  "term.cannotConnect": "cannot connect",
  "term.sessionEnded": "the session ended",
  "term.shellExited": (code: string) => `shell exited with code ${code}; reconnecting opens a new one`,
  "term.error": "error",
  "term.tabMode": "Tab moves focus",
  "term.tabModeTitle": "When on, Tab and Shift+Tab leave the terminal instead of reaching the shell",
  "term.tabModeOn": "Tab moves focus: on",
  "term.tabModeOff": "Tab moves focus: off, Tab goes to the shell",
  "editor.tab": (node: string) => `Editor ${node}`,
  "editor.files": "Files",
  "editor.loading": "Loading…",
  "editor.pickFile": "Pick a file on the left to edit it.",
  "editor.notAFolder": (path: string) => `${path} is not a folder.`,
  "editor.notAFile": (path: string) => `${path} is not a file.`,
  "editor.truncated": "More files than shown.",
  "editor.save": "Save",
  "editor.saved": "Saved",
  "editor.savedAt": (time: string) => `Saved at ${time}`,
  "editor.opened": (size: string) => `Opened (${size})`,
  "editor.discard": (path: string) => `${path} has unsaved changes. Discard them?`,
  "editor.changedOnDisk": (path: string) => `${path} changed on the node since you opened it.`,
  "editor.reload": "Load the node's version",
  "editor.overwrite": "Save mine over it",
  "editor.upload": "Upload",
  "editor.uploadTitle": (dir: string) => `Upload a file into the open file's folder (or ${dir})`,
  "editor.uploaded": (path: string) => `Uploaded ${path}`,
  "editor.download": "Download",
  "ports.reload": "Reload",
  "ports.newWindow": "Open in a new tab",
  "conn.connecting": "connecting",
  "conn.connected": "connected",
  "conn.reconnecting": "reconnecting",
  "conn.closed": "closed",

  // the instructor's views of a terminal
  "watch.readOnly": "read-only",
  "watch.help": "help mode: you can type",
  "watch.label": (node: string) => `Watching ${node}`,

  // the dashboard
  "dashboard.recordingsOf": (who: string) => `Recordings of ${who}`,
  "dashboard.recordings": "Recordings",
  "dashboard.pastRecordings": "Recordings of ended sessions",
  "dashboard.noPastRecordings": "None kept (recordings are deleted after the retention period).",
  "dashboard.files": "Files",
  "dashboard.listFailed": "Could not list recordings",
  "dashboard.refreshFailed": "Could not refresh",
  "dashboard.summary": (live: number, at: string) => `${plural(live, "{n} live session", "{n} live sessions")} · updated ${at}`,
  "dashboard.empty": "No sessions yet. When learners start lessons, they appear here.",
  "dashboard.finished": "finished",
  "dashboard.watchLabel": (node: string, learner: string) => `Watch ${node} of ${learner}`,
  "dashboard.confirmResetStep": "Reset this learner's environment to the start of their current step? Their machines are made afresh and earlier steps' solutions replayed.",
  "dashboard.resettingStep": "Environment resetting to the current step",
  "dashboard.confirmResetLesson": "Reset this learner's environment to the start of the lesson? Their machines are made afresh.",
  "dashboard.resettingLesson": "Environment resetting to the lesson start",
  "dashboard.confirmEnd": "End this session? The learner's machines are destroyed.",
  "dashboard.actionLabel": (action: string, learner: string) => `${action}: session of ${learner}`,
  "dashboard.sessions": "Sessions",
  "dashboard.expires": "Expires",
  "dashboard.hosts": "Hosts",
  "dashboard.token": "Admin token",
  "dashboard.signIn": "Sign in",
  "dashboard.title": "Instructor dashboard",
  "dashboard.signInLead": "Sign in with the admin token (printed by `playlab serve` at its first start).",
  "dashboard.loadFailed": "Could not load",

  // classes and their roster
  "classes.title": "Classes",
  "classes.lead": "Create a class, hand out its join code, watch its roster live.",
  "classes.none": "No classes yet.",
  "classes.name": "Class name",
  "classes.startsAt": "Starts (optional)",
  "classes.endsAt": "Ends (optional)",
  "classes.capacity": "Places (optional)",
  "classes.create": "Create class",
  "classes.created": (name: string) => `Class ${name} created`,
  "classes.pickLesson": "Pick at least one lesson.",
  "classes.members": (n: number) => plural(n, "{n} learner", "{n} learners"),
  "classes.membersOf": (n: number, capacity: number) => `${formatNumber(n)} / ${formatNumber(capacity)} learners`,
  "classes.roster": "Roster",
  "classes.delete": "Delete",
  "classes.confirmDelete": (name: string) => `Delete the class ${name}? Its code stops working; running sessions go on.`,
  "classes.deleted": "Class deleted",
  "classes.notFound": "No such class",
  "classes.loadFailed": "Could not load the class",
  "roster.joinHint": (url: string, code: string) => `Learners open ${url} and enter ${code}.`,
  "roster.summary": "Where the class is",
  "roster.notStarted": (n: number) => `${formatNumber(n)} not started`,
  "roster.done": (n: number) => `${formatNumber(n)} done`,
  "roster.stuckCount": (n: number) => `${formatNumber(n)} stuck`,
  "roster.csv": "Download CSV",
  "roster.broadcast": "Message to the class",
  "roster.send": "Send",
  "roster.sent": "Message sent to the class",
  "roster.live": (at: string) => `live · ${at}`,
  "roster.reconnecting": "reconnecting…",
  "roster.empty": "Nobody has joined yet.",
  "roster.attempts": "Checks",
  "roster.lastFailure": "Last failure",
  "roster.onStep": "On step",
  "roster.lastActivity": "Last activity",
  "roster.terminal": "Terminal",
  "roster.stuckNoProgress": "stuck: no progress",
  "roster.stuckFailingChecks": "stuck: failing checks",
  "roster.attached": "attached",
  "roster.watch": "Watch",
  "roster.grid": "Grid of terminals",
  "roster.closeGrid": "Close the grid",
  "roster.nobodyReady": "No learner has a ready environment to show.",
  "roster.confirmResetStep": (name: string) => `Reset ${name}'s environment to the start of the step? Their machines are made afresh and earlier steps' solutions replayed.`,
  "roster.confirmResetLesson": (name: string) => `Reset ${name}'s environment to the start of the lesson? Their machines are made afresh.`,
  "roster.resetting": "Environment resetting",
  "roster.confirmEnd": (name: string) => `End ${name}'s session? Their machines are destroyed.`,
  "roster.actionLabel": (action: string, name: string) => `${action} ${name}`,

  // recordings
  "recordings.loading": "Loading recordings…",
  "recordings.label": (title: string) => `Recordings of ${title}`,
  "recordings.heading": (title: string) => `Recordings · ${title}`,
  "recordings.listFailed": "Could not list the recordings",
  "recordings.none": "Nothing recorded yet: recordings begin when a terminal opens.",
  "recordings.shell": "Shell",
  "recordings.length": "Length",
  "recordings.size": "Size",
  "recordings.play": "Play",
  "recordings.playLabel": (file: string) => `Play ${file}`,
  "recordings.download": "Download",
  "recordings.markers": "Checks and markers",
  "recordings.shellOf": (node: string, shell: number) => `${node}, shell ${formatNumber(shell)}`,
  "recordings.loadFailed": "Could not load the recording",
  "recordings.noMarkers": "No checks were run while this shell was open.",
} satisfies Record<string, Message>;

type Catalogue = typeof en;
export type MessageKey = keyof Catalogue;
/** The keys of the messages without parameters. */
export type TextKey = { [K in MessageKey]: Catalogue[K] extends string ? K : never }[MessageKey];
/** The parameters of a message: none for a plain string. */
type Params<K extends MessageKey> = Catalogue[K] extends (...args: infer A) => string ? A : [];
/** A translation: every key of `en`, each with the same parameters. */
type Translation = { readonly [K in MessageKey]: Catalogue[K] extends (...args: infer A) => string ? (...args: A) => string : string };

const zh: Translation = {
  "layout.home": "playlab 首页",
  "layout.skip": "跳到正文",
  "layout.language": "语言",
  "theme.system": "跟随系统",
  "theme.light": "浅色",
  "theme.dark": "深色",
  "theme.label": (current, next) => `主题：${current}（切换为${next}）`,
  "notFound.title": "页面不存在",
  "notFound.body": (path) => `${path} 处没有内容。`,
  "common.backToLessons": "返回课程列表",
  "common.lessons": "课程",
  "common.dashboard": "仪表板",
  "common.tryAgain": "重试",
  "common.close": "关闭",
  "common.refresh": "刷新",
  "common.joinCode": "加入码",
  "common.join": "加入",
  "common.learner": "学员",
  "common.lesson": "课程",
  "common.step": "步骤",
  "common.status": "状态",
  "common.node": "节点",
  "common.started": "开始于",
  "common.extend": "延长",
  "common.end": "结束",
  "common.resetStep": "重置步骤",
  "common.resetLesson": "重置课程",
  "common.sessionExtended": "会话已延长",
  "common.sessionEnded": "会话已结束",
  "common.steps": (n) => `${formatNumber(n)} 个步骤`,
  "common.failedWith": (what, detail) => `${what}：${detail}`,

  "translation.untranslated": (language) => `${language}原文（未翻译）`,
  "translation.stale": "译文可能已过时",

  "status.starting": "启动中",
  "status.ready": "就绪",
  "status.failed": "失败",
  "status.ended": "已结束",
  "difficulty.beginner": "入门",
  "difficulty.intermediate": "中级",
  "difficulty.advanced": "高级",
  "node.waiting": "等待中",
  "node.creating": "创建中",
  "node.started": "已启动",
  "node.ready": "就绪",
  "end.finished": "你已完成本课程。",
  "end.deleted": "会话已被结束。",
  "end.expired": "会话时间已用完。",
  "end.idle": "会话空闲时间过长。",
  "end.shutdown": "服务器已关闭。",
  "end.failed": "环境未能启动。",
  "end.restartedWhileStarting": "环境启动期间服务器重启了。",
  "end.environmentGone": "服务器重启后，环境已不存在。",
  "end.lessonGone": "本服务器上已没有这门课程。",
  "end.unknown": "会话已结束。",
  "end.other": (reason) => `会话已结束：${reason}。`,

  "error.file_not_found": "节点上没有这个文件。",
  "error.outside_root": (detail: string) => `这个路径不在课程允许编辑的目录中：${detail}`,
  "error.file_too_large": (detail: string) => `文件太大，编辑器无法打开：${detail}`,
  "error.binary_file": "这是二进制文件，编辑器只能打开文本文件。请下载它。",
  "error.changed_on_disk": "打开之后，节点上的这个文件已被修改。",
  "error.network": "无法连接 playlab 服务器。请检查网络连接后重试。",
  "error.not_found": "未找到。",
  "error.lesson_not_found": "没有这门课程。",
  "error.session_not_found": "没有这个会话。",
  "error.class_not_found": "没有这个班级。",
  "error.node_not_found": "课程中没有这个节点。",
  "error.forbidden": "这个会话属于其他人。",
  "error.at_capacity": "实验室已满，请一分钟后再试。",
  "error.not_ready": "会话尚未就绪。",
  "error.bad_answers": (detail) => `答案与测验不符：${detail}`,
  "error.backend_error": (detail) => `机器出错：${detail}`,
  "error.backend_unreachable": "服务器无法连接容器引擎。",
  "error.cannot_reset": (detail) => `无法将环境重置到这一步：${detail}`,
  "error.join_required": "请先输入加入码。",
  "error.instructor_only": "此功能仅供讲师使用，学员无法使用。",
  "error.admin_required": "需要管理员令牌。",
  "error.learner_only": "只有会话所属的学员才能允许讲师在其终端中输入。",
  "error.wrong_code": "加入码不正确，请向讲师确认。",
  "error.wrong_token": "管理员令牌不正确。",
  "error.too_many_attempts": "你的地址尝试加入的次数过多，请稍后再试。",
  "error.class_full": "班级已满，请联系讲师。",
  "error.class_over": "班级已结束。",
  "error.in_another_class": "你已在另一个班级中；一名学员同一时间只能加入一个班级。",
  "error.not_in_a_class": "你还没有加入班级，请先用加入码加入。",
  "error.lesson_not_in_class": "这门课程不在你的班级中。",
  "error.bad_name": (detail) => `无法使用这个名字：${detail}`,
  "error.bad_class": (detail) => `无法创建班级：${detail}`,
  "error.bad_message": (detail) => `无法发送这条消息：${detail}`,
  "error.bad_body": (detail) => `服务器无法读取请求：${detail}`,
  "error.invalid_body": (detail) => `服务器无法读取请求：${detail}`,
  "error.not_json": "服务器无法读取请求。",
  "error.reload_failed": (detail) => `无法重新加载课程：${detail}`,
  "error.csv_failed": (detail) => `无法导出名单：${detail}`,
  "error.database_error": (detail) => `服务器数据库出错：${detail}`,
  "error.internal": (detail) => `服务器出错：${detail}`,

  "catalog.loading": "正在加载课程…",
  "catalog.loadFailed": "无法加载课程",
  "catalog.heading": "动手实验",
  "catalog.lead": "选择一门课程：你会获得专属的临时机器，每台都有真实的终端，检查会告诉你是否做对了。",
  "catalog.empty": "还没有课程",
  "catalog.emptyBody": "此服务器的内容目录中没有课程。添加课程后会显示在这里。",
  "catalog.filter": "按标签筛选",
  "catalog.count": (n) => `共 ${formatNumber(n)} 门课程`,
  "catalog.countFiltered": (shown, total) => `显示 ${formatNumber(shown)} 门，共 ${formatNumber(total)} 门课程`,
  "catalog.finished": "已完成",
  "catalog.inProgress": (step, steps) => `进行中 · 第 ${formatNumber(step)} 步，共 ${formatNumber(steps)} 步`,
  "catalog.unavailable": "在此服务器上不可用",
  "unavailable.system_nodes_not_allowed": "此课程需要系统节点（在节点内运行 systemd、containerd 或 Docker），而本服务器的管理员没有允许（--allow-system-nodes）。",
  "unavailable.invalid_environment": "此课程的环境无法在本服务器上创建。",
  "catalog.tags": "标签",
  "catalog.why": "原因",
  "catalog.resume": "继续",
  "catalog.start": "开始",

  "join.title": "加入实验室",
  "join.lead": "输入讲师给你的加入码。",
  "classJoin.title": "加入班级",
  "classJoin.lead": "输入讲师给你的加入码，以及讲师将看到的你的名字。",
  "classJoin.name": "你的名字",
  "classJoin.already": (name) => `你已在班级 ${name} 中。`,
  "classJoin.toClass": "进入我的班级",

  "class.title": "我的班级",
  "class.hello": (name) => `当前身份：${name}。`,
  "class.lessons": "本班课程",
  "class.open": "打开",
  "class.notInClass": "你还没有加入班级",
  "class.join": "加入班级",
  "class.from": "讲师消息：",
  "class.dismiss": "关闭",
  "engine.unreachable": "实验环境的容器引擎没有响应。它恢复后，终端和检查会重新可用；你的文件会保留。",
  "engine.nodesRestarted": "实验环境的容器引擎已重启，你的机器也随之重启：文件都保留了，但正在运行的程序已停止。终端是新的 shell，请重新启动之前运行的程序。",

  "lesson.pageTitle": "课程",
  "lesson.instructions": "说明",
  "lesson.terminals": "终端",
  "lesson.starting": "正在启动课程…",
  "lesson.cannotStart": "这门课程无法在此服务器上启动",
  "lesson.notFound": "找不到课程",
  "lesson.startFailed": "无法启动课程",
  "lesson.resize": "调整说明与终端的宽度",
  "lesson.progress": "课程进度",
  "lesson.progressText": (done, total) => `已完成 ${formatNumber(done)} 个步骤，共 ${formatNumber(total)} 个`,
  "lesson.stepTitle": (n, title) => `第 ${formatNumber(n)} 步：${title}`,
  "lesson.stepDone": (n, title) => `第 ${formatNumber(n)} 步：${title}（已完成）`,
  "lesson.extendTitle": "延长本会话的时间",
  "lesson.reset": "重置",
  "lesson.resetTitle": "销毁机器并重新开始",
  "lesson.confirmReset": "要重置环境吗？你的机器将被销毁，课程从第 1 步重新开始。",
  "lesson.timeLeft": (left) => `剩余时间：${left}`,
  "lesson.expiryWarning": (left) => `会话将在 ${left}后结束。点击“延长”可增加时间。`,
  "lesson.ended": "本会话已结束",
  "lesson.machinesRemoved": "它的机器已被移除。",
  "lesson.newSession": "开始新会话",
  "lesson.gettingReady": "准备中",
  "lesson.outline": "你将完成的内容",
  "lesson.kicker": (n, total) => `第 ${formatNumber(n)} 步，共 ${formatNumber(total)} 步`,
  "lesson.done": "已完成",
  "lesson.previous": "上一步",
  "lesson.next": "下一步",
  "lesson.finish": "完成",
  "lesson.complete": "课程完成",
  "lesson.completeLead": (steps, title) => `你已完成“${title}”的全部 ${formatNumber(steps)} 个步骤。`,
  "lesson.completeNote": "你的机器会保留到倒计时结束（“延长”可增加时间）；“结束会话”会立即移除它们。",
  "lesson.review": "回顾步骤",
  "lesson.endSession": "结束会话并清理",
  "lesson.sessionEnded": "会话已结束，机器已移除。",
  "lesson.notes": "关于此服务器",
  "presence.stopHelp": "禁止讲师输入",
  "presence.allowHelp": "允许讲师输入",
  "presence.watching": (n) => (n === 1 ? "讲师正在查看" : `${formatNumber(n)} 位讲师正在查看`),

  "check.submit": "提交答案",
  "check.check": "检查",
  "check.continue": "继续",
  "check.checking": "正在检查…",
  "check.couldNotRun": "检查无法运行",
  "check.output": "检查输出",
  "check.lastStep": "做得好，这是最后一步。",
  "check.stepComplete": "步骤完成",
  "check.notPassed": "检查未通过。",
  "check.notYet": "还没完成",
  "hint.show": "显示提示",
  "hint.hide": "隐藏提示",
  "quiz.multiple": "（多选）",

  "code.copyTitle": "复制到剪贴板",
  "code.copyLabel": (text) => `复制：${text}`,
  "code.copy": "复制",
  "code.copyBlocked": "浏览器阻止了复制",
  "code.copied": "已复制",
  "code.run": "运行",
  "code.runTitle": (node) => `在 ${node} 上运行`,
  "code.runInterruptTitle": (node) => `在 ${node} 上运行（先停止正在运行的命令）`,
  "code.runLabel": (node, text) => `在 ${node} 上运行：${text}`,
  "code.interrupts": "· 先停止正在运行的命令",
  "code.copyToUse": "复制后使用",
  "code.ran": "已运行",
  "code.noNode": (node) => `这门课程没有节点“${node}”`,
  "code.notReady": "机器尚未就绪",

  "start.title": "正在准备你的机器",
  "start.log": "日志",
  "start.logLabel": "启动日志",
  "start.failedTitle": "机器无法启动",
  "start.failed": "环境启动失败",
  "term.nodes": "节点",
  "term.connecting": "正在连接…",
  "term.reconnecting": (why) => `正在重新连接…（${why}）`,
  "term.disconnected": (why) => `已断开：${why}`,
  "term.connectionLost": "连接已断开",
  "term.cannotConnect": "无法连接",
  "term.sessionEnded": "会话已结束",
  "term.shellExited": (code) => `shell 已退出，退出码 ${code}；重新连接会打开新的 shell`,
  "term.error": "错误",
  "term.tabMode": "Tab 切换焦点",
  "term.tabModeTitle": "开启后，Tab 和 Shift+Tab 会离开终端，而不是发送给 shell",
  "term.tabModeOn": "Tab 切换焦点：开",
  "term.tabModeOff": "Tab 切换焦点：关，Tab 发送给 shell",
  "editor.tab": (node: string) => `编辑器 ${node}`,
  "editor.files": "文件",
  "editor.loading": "加载中…",
  "editor.pickFile": "在左侧选择一个文件进行编辑。",
  "editor.notAFolder": (path: string) => `${path} 不是目录。`,
  "editor.notAFile": (path: string) => `${path} 不是文件。`,
  "editor.truncated": "文件过多，未全部显示。",
  "editor.save": "保存",
  "editor.saved": "已保存",
  "editor.savedAt": (time: string) => `已于 ${time} 保存`,
  "editor.opened": (size: string) => `已打开（${size}）`,
  "editor.discard": (path: string) => `${path} 有未保存的修改。要放弃吗？`,
  "editor.changedOnDisk": (path: string) => `打开之后，节点上的 ${path} 已被修改。`,
  "editor.reload": "载入节点上的版本",
  "editor.overwrite": "用我的版本覆盖",
  "editor.upload": "上传",
  "editor.uploadTitle": (dir: string) => `把文件上传到当前文件所在目录（或 ${dir}）`,
  "editor.uploaded": (path: string) => `已上传 ${path}`,
  "editor.download": "下载",
  "ports.reload": "刷新",
  "ports.newWindow": "在新标签页中打开",
  "conn.connecting": "连接中",
  "conn.connected": "已连接",
  "conn.reconnecting": "重新连接中",
  "conn.closed": "已关闭",

  "watch.readOnly": "只读",
  "watch.help": "协助模式：你可以输入",
  "watch.label": (node) => `正在查看 ${node}`,

  "dashboard.recordingsOf": (who) => `${who} 的录像`,
  "dashboard.recordings": "录像",
  "dashboard.pastRecordings": "已结束会话的录像",
  "dashboard.noPastRecordings": "没有保留的录像（录像在保留期过后会被删除）。",
  "dashboard.files": "文件",
  "dashboard.listFailed": "无法列出录像",
  "dashboard.refreshFailed": "无法刷新",
  "dashboard.summary": (live, at) => `${formatNumber(live)} 个活动会话 · 更新于 ${at}`,
  "dashboard.empty": "还没有会话。学员开始课程后会显示在这里。",
  "dashboard.finished": "已完成",
  "dashboard.watchLabel": (node, learner) => `查看 ${learner} 的 ${node}`,
  "dashboard.confirmResetStep": "要将该学员的环境重置到当前步骤的开头吗？其机器会重新创建，并重放之前步骤的解答。",
  "dashboard.resettingStep": "环境正在重置到当前步骤",
  "dashboard.confirmResetLesson": "要将该学员的环境重置到课程开头吗？其机器会重新创建。",
  "dashboard.resettingLesson": "环境正在重置到课程开头",
  "dashboard.confirmEnd": "要结束此会话吗？学员的机器将被销毁。",
  "dashboard.actionLabel": (action, learner) => `${action}：${learner} 的会话`,
  "dashboard.sessions": "会话",
  "dashboard.expires": "到期",
  "dashboard.hosts": "主机",
  "dashboard.token": "管理员令牌",
  "dashboard.signIn": "登录",
  "dashboard.title": "讲师仪表板",
  "dashboard.signInLead": "使用管理员令牌登录（`playlab serve` 首次启动时会打印它）。",
  "dashboard.loadFailed": "无法加载",

  "classes.title": "班级",
  "classes.lead": "创建班级，分发加入码，实时查看学员名单。",
  "classes.none": "还没有班级。",
  "classes.name": "班级名称",
  "classes.startsAt": "开始时间（可选）",
  "classes.endsAt": "结束时间（可选）",
  "classes.capacity": "名额（可选）",
  "classes.create": "创建班级",
  "classes.created": (name) => `已创建班级 ${name}`,
  "classes.pickLesson": "请至少选择一门课程。",
  "classes.members": (n) => `${formatNumber(n)} 名学员`,
  "classes.membersOf": (n, capacity) => `${formatNumber(n)}/${formatNumber(capacity)} 名学员`,
  "classes.roster": "名单",
  "classes.delete": "删除",
  "classes.confirmDelete": (name) => `要删除班级 ${name} 吗？它的加入码将失效，正在运行的会话不受影响。`,
  "classes.deleted": "班级已删除",
  "classes.notFound": "没有这个班级",
  "classes.loadFailed": "无法加载班级",
  "roster.joinHint": (url, code) => `学员打开 ${url} 并输入 ${code}。`,
  "roster.summary": "班级进度",
  "roster.notStarted": (n) => `${formatNumber(n)} 人未开始`,
  "roster.done": (n) => `${formatNumber(n)} 人已完成`,
  "roster.stuckCount": (n) => `${formatNumber(n)} 人卡住`,
  "roster.csv": "下载 CSV",
  "roster.broadcast": "发给全班的消息",
  "roster.send": "发送",
  "roster.sent": "消息已发给全班",
  "roster.live": (at) => `实时 · ${at}`,
  "roster.reconnecting": "正在重新连接…",
  "roster.empty": "还没有人加入。",
  "roster.attempts": "检查次数",
  "roster.lastFailure": "最近一次失败",
  "roster.onStep": "本步用时",
  "roster.lastActivity": "最近活动",
  "roster.terminal": "终端",
  "roster.stuckNoProgress": "卡住：没有进展",
  "roster.stuckFailingChecks": "卡住：检查屡次失败",
  "roster.attached": "已连接",
  "roster.watch": "查看",
  "roster.grid": "终端网格",
  "roster.closeGrid": "关闭网格",
  "roster.nobodyReady": "没有学员的环境已就绪。",
  "roster.confirmResetStep": (name) => `要将 ${name} 的环境重置到当前步骤的开头吗？其机器会重新创建，并重放之前步骤的解答。`,
  "roster.confirmResetLesson": (name) => `要将 ${name} 的环境重置到课程开头吗？其机器会重新创建。`,
  "roster.resetting": "环境正在重置",
  "roster.confirmEnd": (name) => `要结束 ${name} 的会话吗？其机器将被销毁。`,
  "roster.actionLabel": (action, name) => `${action} ${name}`,

  "recordings.loading": "正在加载录像…",
  "recordings.label": (title) => `${title} 的录像`,
  "recordings.heading": (title) => `录像 · ${title}`,
  "recordings.listFailed": "无法列出录像",
  "recordings.none": "还没有录像：终端打开后开始录制。",
  "recordings.shell": "Shell",
  "recordings.length": "时长",
  "recordings.size": "大小",
  "recordings.play": "播放",
  "recordings.playLabel": (file) => `播放 ${file}`,
  "recordings.download": "下载",
  "recordings.markers": "检查与标记",
  "recordings.shellOf": (node, shell) => `${node}，shell ${formatNumber(shell)}`,
  "recordings.loadFailed": "无法加载录像",
  "recordings.noMarkers": "此 shell 打开期间没有运行检查。",
};

const catalogues: Record<Language, Translation> = { en, zh };

/** The message `key` in the interface's language. */
export function t<K extends MessageKey>(key: K, ...params: Params<K>): string {
  const message: Message = catalogues[current][key];
  return typeof message === "function" ? (message as (...args: Params<K>) => string)(...params) : message;
}

/** The message for a code the server sent (an error, a status, a reason), whose key
 *  `prefix.code` the catalogue may not have: then `fallback`. A message with a
 *  parameter gets `detail` (the server's own words). */
export function tCode(prefix: string, code: string, fallback: string, detail = fallback): string {
  const message: Message | undefined = (catalogues[current] as Record<string, Message>)[`${prefix}.${code}`];
  if (message === undefined) return fallback;
  return typeof message === "function" ? (message as (detail: string) => string)(detail) : message;
}
