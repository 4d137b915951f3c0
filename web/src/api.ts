// The HTTP API client: typed wrappers over the server's JSON contract (issue 5).
// Cookies carry the learner's identity, so every call is a plain same-origin fetch.
// Every call asks for the interface's language (`Accept-Language`; `?lang=` where a
// header cannot be set: EventSource), so lesson text comes in the language the
// interface is in.

import { acceptLanguage, t, tCode, uiLanguage } from "./i18n";

/** Which language the lesson text of an answer is in, and which parts are not. */
export interface LessonLanguages {
  /** The language the text is served in (`zh`, `en`). */
  lang: string;
  /** The lesson's languages, its default (original) first. */
  languages: string[];
  /** Parts (`title`, `steps[0].hint`, …) shown in the default language because they
   *  have no usable translation; only present when not empty. */
  untranslated?: string[];
  /** Parts whose translation is shown though the original changed since. */
  stale?: string[];
}

export interface LessonSummary extends LessonLanguages {
  id: string;
  title: string;
  description: string;
  difficulty: "beginner" | "intermediate" | "advanced" | null;
  duration: string | null;
  tags: string[];
  steps: number;
  /** Why the lesson cannot start on this server (e.g. it needs system nodes), in
   *  English; `unavailable_code` is what the catalogue translates. */
  unavailable?: string;
  unavailable_code?: string;
  /** What a learner should know about how the lesson runs here. */
  notes?: string[];
}

export interface QuizItem {
  question: string;
  choices: string[];
  multiple: boolean;
}

export interface StepDetail {
  title: string;
  html: string;
  /** Only present when the step has a hint. */
  hint_html?: string;
  quiz: QuizItem[];
  checks: number;
}

/** A web port of the lesson, a tab beside the terminals; `url` and `open` hold
 *  `{session}` for the session's id (`open` is where a tab or a link goes, in
 *  whichever mode the server serves ports). */
export interface WebPortDetail {
  node: string;
  port: number;
  title: string;
  path: string;
  url: string;
  open: string;
}

/** How the workspace is arranged: terminals alone, or an editor above them. */
export type Layout = "terminal" | "editor-terminal" | "ide";

/** Where the Editor tab's file tree starts, and whether it may leave that folder. */
export interface EditorSettings {
  root: string;
  restricted: boolean;
}

export interface LessonDetail extends Omit<LessonSummary, "steps"> {
  nodes: string[];
  ports: WebPortDetail[];
  /** Any port's addresses (`{session}`, `{node}`, `{port}`), for traffic links. */
  traffic: PortTemplates;
  layout?: Layout;
  editor?: EditorSettings;
  steps: StepDetail[];
  intro_html: string | null;
  finish_html: string | null;
}

export interface PortTemplates {
  open: string;
  url: string;
  selector: string;
}

export interface DirEntry {
  name: string;
  kind: "file" | "dir" | "link" | "other";
  size: number;
}

/** What the files API answers for a path: a folder's entries or a text file. */
export type NodeFile =
  | { kind: "dir"; path: string; entries: DirEntry[]; truncated: boolean }
  | { kind: "file"; path: string; content: string; version: string; size: number };

export type Status = "starting" | "ready" | "failed" | "ended";

export interface Session {
  id: string;
  lesson: string;
  learner: string;
  status: Status;
  error?: string;
  nodes: string[];
  step: number;
  steps: number;
  completed: boolean;
  created_at: string;
  expires_at: string;
  /** Why an ended session ended: `finished`, `deleted`, `expired`, `idle`, `shutdown`, … */
  end_reason?: string;
  /** The hosts its nodes run on, where the lab has several (a swarm). */
  hosts?: string[];
}

export interface CheckOutcome {
  passed: boolean;
  step: number;
  completed: boolean;
  /** Brought forward when this check completed the lesson (the finish grace). */
  expires_at: string;
  /** One per quiz item and check: `message` is the author's `fail` text (or a quiz
   *  item's explanation) in the requested language, `output` what the check printed. */
  results: { passed: boolean; message: string; output?: string }[];
}

/** One `.cast` file: a shell of a node, recorded (`GET /api/admin/recordings/{id}`). */
export interface RecordingInfo {
  file: string;
  node: string;
  /** Which shell of the node, from 1 (a new shell starts a new file). */
  shell: number;
  bytes: number;
  started_at: string | null;
  /** Seconds from the start to the last event. */
  duration: number;
}

/** A session with recordings (`GET /api/admin/recordings`); who and what while the
 *  database remembers the session. */
export interface SessionRecordings {
  session: string;
  learner?: string;
  lesson?: string;
  status?: Status;
  recordings: RecordingInfo[];
}

/** Where a recording is downloaded (and the player fetches it). */
export function recordingUrl(session: string, file: string): string {
  return `/api/admin/recordings/${session}/${encodeURIComponent(file)}`;
}

export interface Me {
  learner: string | null;
  admin: boolean;
  auth: "open" | "code";
}

export type Progress =
  | { kind: "pull"; image: string; layer: string; status: string; current: number | null; total: number | null }
  | { kind: "build"; image: string; line: string }
  | { kind: "node"; node: string; status: string }
  | { kind: "setup"; node: string; line: string };

/** One message of `GET /api/sessions/{id}/events`. */
export type SessionEvent =
  | { type: "progress"; progress: Progress }
  | { type: "status"; status: Status; error: string | null }
  | { type: "step"; step: number; completed: boolean; expires_at: string }
  | { type: "expiry_warning"; expires_at: string; seconds_left: number }
  | { type: "extended"; expires_at: string }
  | { type: "ended"; reason: string }
  | { type: "presence"; watchers: number; help: boolean }
  | { type: "engine"; notice: EngineNotice };

/** What happened to the engine the session's machines run on. */
export type EngineNotice = "unreachable" | "nodes_restarted";

/** Help mode: whether watching instructors may type, and every grant and revocation. */
export interface HelpState {
  help: boolean;
  watchers: number;
  log: { at: string; granted: boolean }[];
}

/** A class as the instructor sees it (`/api/classes`). */
export interface ClassInfo {
  id: string;
  name: string;
  lessons: string[];
  /** Shown as `abcde-fghjk`. */
  code: string;
  starts_at: string | null;
  ends_at: string | null;
  capacity: number | null;
  members: number;
  created_at: string;
  message: Broadcast | null;
}

export interface Broadcast {
  message: string;
  at: string;
}

/** The learner's own class (`/api/classes/mine`). */
export interface MyClass {
  id: string;
  name: string;
  display_name: string;
  lessons: { id: string; title: string; description: string; steps: number }[];
  starts_at: string | null;
  ends_at: string | null;
  message: Broadcast | null;
}

/** One member's line of the roster; the CSV export has the same columns. */
export interface RosterRow {
  name: string;
  joined_at: string;
  session: string | null;
  lesson: string | null;
  status: Status | null;
  step: number | null;
  step_title: string | null;
  steps: number | null;
  completed: boolean;
  attempts: number;
  failed_in_a_row: number;
  last_failure: string | null;
  time_on_step_seconds: number | null;
  last_activity: string | null;
  connected: boolean;
  stuck: "no_progress" | "failing_checks" | null;
}

export interface Roster {
  class: string;
  name: string;
  stuck_after_seconds: number;
  learners: RosterRow[];
  summary: { lesson: string; title: string; completed: number; steps: { step: number; title: string; learners: number; stuck: number }[] }[];
  not_started: number;
}

/** An error answer of the API: `{error, message}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What to tell the user about a failed call: the catalogue's words for the API's
 *  error code (some with the server's message as the detail), the server's own message
 *  for a code the catalogue does not know. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return tCode("error", e.code, e.message);
  return e instanceof Error ? e.message : String(e);
}

/** `what` failed, and why (`Could not list recordings: …`). */
export function failedText(what: string, e: unknown): string {
  return t("common.failedWith", what, errorText(e));
}

/** A URL of the API with the interface's language as `?lang=`, for what cannot send
 *  `Accept-Language`: EventSource, download links. */
export function withLang(path: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}lang=${uiLanguage()}`;
}

/** A same-origin call in the interface's language: the answer's text, or an
 *  `ApiError` (code `network` when the server cannot be reached). */
async function send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { "accept-language": acceptLanguage() };
  // A Blob (an uploaded file) goes as its bytes; anything else as JSON.
  const raw = body instanceof Blob;
  if (body !== undefined) headers["content-type"] = raw ? "application/octet-stream" : "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "network", `cannot reach the playlab server (${(e as Error).message})`);
  }
  const text = await response.text();
  if (response.ok) return { status: response.status, text };
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: reported below */
  }
  throw new ApiError(
    response.status,
    json?.error ?? "http",
    json?.message ?? `${method} ${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
  );
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const { status, text } = await send(method, path, body);
  return (status === 204 || !text ? undefined : JSON.parse(text)) as T;
}

export const api = {
  me: () => request<Me>("GET", "/api/me"),
  join: (code: string) => request<{ learner: string }>("POST", "/api/join", { code }),
  lessons: () => request<LessonSummary[]>("GET", "/api/lessons"),
  lesson: (id: string) => request<LessonDetail>("GET", `/api/lessons/${encodeURIComponent(id)}`),
  mySessions: () => request<Session[]>("GET", "/api/sessions"),
  startSession: (lesson: string) => request<Session>("POST", "/api/sessions", { lesson }),
  session: (id: string) => request<Session>("GET", `/api/sessions/${id}`),
  endSession: (id: string) => request<void>("DELETE", `/api/sessions/${id}`),
  resetSession: (id: string, to: "step" | "lesson") => request<Session>("POST", `/api/sessions/${id}/reset`, { to }),
  help: (id: string) => request<HelpState>("GET", `/api/sessions/${id}/help`),
  setHelp: (id: string, allow: boolean) => request<HelpState>("POST", `/api/sessions/${id}/help`, { allow }),
  extend: (id: string) => request<{ expires_at: string }>("POST", `/api/sessions/${id}/extend`),
  check: (id: string, answers?: number[][]) =>
    request<CheckOutcome>("POST", `/api/sessions/${id}/check`, answers ? { answers } : {}),
  adminLogin: (token: string) => request<void>("POST", "/api/admin/login", { token }),
  adminSessions: () => request<Session[]>("GET", "/api/admin/sessions"),
  classes: () => request<ClassInfo[]>("GET", "/api/classes"),
  createClass: (body: { name: string; lessons: string[]; starts_at?: string; ends_at?: string; capacity?: number }) =>
    request<ClassInfo>("POST", "/api/classes", body),
  deleteClass: (id: string) => request<void>("DELETE", `/api/classes/${encodeURIComponent(id)}`),
  classInfo: (id: string) => request<ClassInfo>("GET", `/api/classes/${encodeURIComponent(id)}`),
  broadcast: (id: string, message: string) =>
    request<Broadcast>("POST", `/api/classes/${encodeURIComponent(id)}/broadcast`, { message }),
  joinClass: (code: string, name: string) => request<MyClass>("POST", "/api/classes/join", { code, name }),
  myClass: () => request<MyClass>("GET", "/api/classes/mine"),
  allRecordings: () => request<SessionRecordings[]>("GET", "/api/admin/recordings"),
  recordings: (session: string) => request<RecordingInfo[]>("GET", `/api/admin/recordings/${session}`),
  file: (session: string, node: string, path: string) => request<NodeFile>("GET", filesUrl(session, node, "", path)),
  saveFile: (session: string, node: string, path: string, content: string, version: string | null) =>
    request<{ version: string; size: number }>("PUT", filesUrl(session, node, "", path), { content, version }),
  uploadFile: (session: string, node: string, path: string, file: Blob) =>
    request<{ version: string; size: number }>("PUT", filesUrl(session, node, "/upload", path), file),
  /** A recording's `.cast` text. */
  recording: async (session: string, file: string) => (await send("GET", recordingUrl(session, file))).text,
};

/** The files API of a node (`action`: "" to read and save, "/upload", "/download"). */
export function filesUrl(session: string, node: string, action: "" | "/upload" | "/download", path: string): string {
  return `/api/sessions/${session}/nodes/${encodeURIComponent(node)}/files${action}?path=${encodeURIComponent(path)}`;
}

/** Where a link to `port` on `node` goes (the server picks path or host mode). */
/** A lesson's template (`{session}` for the session's id) for one session. */
export function forSession(template: string, session: string): string {
  return template.replaceAll("{session}", session);
}

/** The WebSocket URL of a node's terminal. */
export function terminalUrl(session: string, node: string, cols: number, rows: number): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/sessions/${session}/terminals/${encodeURIComponent(node)}?cols=${cols}&rows=${rows}`;
}
