import type { EventOf, EventType, MedfclEvent } from "./types.js";

/** Every medfcl subject starts with this token; the JetStream stream captures `medfcl.>`. */
export const SUBJECT_ROOT = "medfcl";
export const ALL_EVENTS_SUBJECT = `${SUBJECT_ROOT}.>`;

const SAFE = /^[A-Za-z0-9_-]$/;

/**
 * Makes one id safe as a single subject token. Ids may contain dots (site ids do), spaces or
 * wildcards, any of which would split the token or widen a subscription. Everything outside
 * `[A-Za-z0-9_-]` becomes `~HH` per UTF-8 byte, so the mapping is injective and readable for
 * ordinary ids; the empty id becomes a lone `~`, which no encoding produces otherwise.
 */
export function subjectToken(id: string | number): string {
  const text = String(id);
  if (text.length === 0) return "~";
  let out = "";
  for (const ch of text) {
    if (SAFE.test(ch)) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, "utf8")) out += `~${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

/** Inverse of {@link subjectToken}, for dashboards that read ids back from subjects. */
export function decodeSubjectToken(token: string): string {
  if (token === "~") return "";
  const bytes: number[] = [];
  for (let i = 0; i < token.length; ) {
    if (token[i] === "~") {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(token.charCodeAt(i));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** `medfcl.run.<run>` */
export function runSubjectPrefix(runId: string): string {
  return `${SUBJECT_ROOT}.run.${subjectToken(runId)}`;
}

/** `medfcl.run.<run>.step.<k>` */
export function stepSubjectPrefix(runId: string, step: number): string {
  return `${runSubjectPrefix(runId)}.step.${subjectToken(step)}`;
}

/** `medfcl.site.<site>` */
export function siteSubjectPrefix(siteId: string): string {
  return `${SUBJECT_ROOT}.site.${subjectToken(siteId)}`;
}

/** Filter for everything one run publishes. */
export function runSubjectFilter(runId: string): string {
  return `${runSubjectPrefix(runId)}.>`;
}

/** Filter for everything about one site. */
export function siteSubjectFilter(siteId: string): string {
  return `${siteSubjectPrefix(siteId)}.>`;
}

type SubjectBuilders = { [T in EventType]: (event: EventOf<T>) => string };

/** The one subject builder per event type. */
export const SUBJECT_BUILDERS: SubjectBuilders = {
  "run.created": (e) => `${runSubjectPrefix(e.runId)}.created`,
  "run.completed": (e) => `${runSubjectPrefix(e.runId)}.completed`,
  "run.failed": (e) => `${runSubjectPrefix(e.runId)}.failed`,
  "run.paused": (e) => `${runSubjectPrefix(e.runId)}.paused`,
  "run.resumed": (e) => `${runSubjectPrefix(e.runId)}.resumed`,
  "step.opened": (e) => `${stepSubjectPrefix(e.runId, e.step)}.opened`,
  "task.assigned": (e) => `${stepSubjectPrefix(e.runId, e.step)}.task.assigned`,
  "update.received": (e) => `${stepSubjectPrefix(e.runId, e.step)}.update.received`,
  "update.rejected": (e) => `${stepSubjectPrefix(e.runId, e.step)}.update.rejected`,
  evaluated: (e) => `${stepSubjectPrefix(e.runId, e.step)}.evaluated`,
  "step.closed": (e) => `${stepSubjectPrefix(e.runId, e.step)}.closed`,
  "site.dropout": (e) => `${stepSubjectPrefix(e.runId, e.step)}.dropout`,
  "site.heartbeat": (e) => `${siteSubjectPrefix(e.siteId)}.heartbeat`,
  "site.progress": (e) => `${siteSubjectPrefix(e.siteId)}.progress`,
  "site.registered": (e) => `${siteSubjectPrefix(e.siteId)}.registered`,
  "exemplar.refused": (e) => `${siteSubjectPrefix(e.siteId)}.exemplar.refused`,
};

export const EVENT_TYPES = Object.keys(SUBJECT_BUILDERS) as EventType[];

export function eventSubject(event: MedfclEvent): string {
  const build = SUBJECT_BUILDERS[event.type] as (e: MedfclEvent) => string;
  return build(event);
}

/** NATS subject matching: `*` matches one token, a trailing `>` one or more. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return i === f.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== "*" && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}
