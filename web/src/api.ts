// The HTTP API client: typed wrappers over the server's JSON contract (issue 5).
// Cookies carry the learner's identity, so every call is a plain same-origin fetch.

export interface LessonSummary {
  id: string;
  title: string;
  description: string;
  difficulty: "beginner" | "intermediate" | "advanced" | null;
  duration: string | null;
  tags: string[];
  steps: number;
  /** Why the lesson cannot start on this server (e.g. it needs system nodes). */
  unavailable?: string;
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

export interface LessonDetail extends Omit<LessonSummary, "steps"> {
  nodes: string[];
  steps: StepDetail[];
  intro_html: string | null;
  finish_html: string | null;
}

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
}

export interface CheckOutcome {
  passed: boolean;
  step: number;
  completed: boolean;
  /** Brought forward when this check completed the lesson (the finish grace). */
  expires_at: string;
  /** One per quiz item and check: `message` is the author's `fail` text (or a quiz
   *  item's explanation), `output` what the check printed. */
  results: { passed: boolean; message: string; output?: string }[];
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
  | { type: "presence"; watchers: number; help: boolean };

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

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "network", `cannot reach the playlab server (${(e as Error).message})`);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: reported below */
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      json?.error ?? "http",
      json?.message ?? `${method} ${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
    );
  }
  return json as T;
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
};

/** The WebSocket URL of a node's terminal. */
export function terminalUrl(session: string, node: string, cols: number, rows: number): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/sessions/${session}/terminals/${encodeURIComponent(node)}?cols=${cols}&rows=${rows}`;
}
