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
  | { type: "ended"; reason: string };

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
  extend: (id: string) => request<{ expires_at: string }>("POST", `/api/sessions/${id}/extend`),
  check: (id: string, answers?: number[][]) =>
    request<CheckOutcome>("POST", `/api/sessions/${id}/check`, answers ? { answers } : {}),
  adminLogin: (token: string) => request<void>("POST", "/api/admin/login", { token }),
  adminSessions: () => request<Session[]>("GET", "/api/admin/sessions"),
  allRecordings: () => request<SessionRecordings[]>("GET", "/api/admin/recordings"),
  recordings: (session: string) => request<RecordingInfo[]>("GET", `/api/admin/recordings/${session}`),
};

/** The WebSocket URL of a node's terminal. */
export function terminalUrl(session: string, node: string, cols: number, rows: number): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/sessions/${session}/terminals/${encodeURIComponent(node)}?cols=${cols}&rows=${rows}`;
}
