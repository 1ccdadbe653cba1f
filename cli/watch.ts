/**
 * `medfcl runs watch`: the dashboard's live view in a terminal. It reads the same /api/state and
 * Server-Sent Events stream as the browser page (the coordinator's --http port, bearer token), so
 * the terminal and the page show the same thing from the same events, and no new RPC is needed.
 */
import { request, type IncomingMessage } from "node:http";
import type { DashboardSnapshot, RunView, SiteView } from "../coordinator/dashboard/snapshot.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { MedfclEvent } from "../services/events/index.js";
import { backoffMs, sleepUnlessAborted } from "../services/transport/index.js";

export interface WatchOptions {
  /** host:port of the coordinator's HTTP listener. */
  http: string;
  token: string;
  /** Run id or name. */
  run: string;
  /** Called with each frame of text to show. */
  render: (frame: string) => void;
  /** Print one frame from the current state and return. */
  once?: boolean;
  signal?: AbortSignal;
  /** Told (a line for the operator) each time the coordinator could not be reached and a retry is due. */
  onRetry?: (message: string) => void;
}

const TERMINAL = ["completed", "failed"];

function split(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(":");
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(hp.slice(i + 1)) };
}

function open(o: WatchOptions, path: string): Promise<IncomingMessage> {
  const { host, port } = split(o.http);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers: { authorization: `Bearer ${o.token}`, accept: path.startsWith("/events") ? "text/event-stream" : "application/json" } }, (res) => {
      if (res.statusCode === 401) return reject(new MedfclError(ErrorCode.Unauthenticated, `the coordinator at ${o.http} refused the token (coordinator.dashboardToken; pass it as MEDFCL_COORDINATOR_DASHBOARD_TOKEN or --token-file)`));
      if (res.statusCode === 403) return reject(new MedfclError(ErrorCode.FailedPrecondition, `the coordinator at ${o.http} has no dashboard token configured (coordinator.dashboardToken)`));
      if (res.statusCode !== 200) return reject(new MedfclError(ErrorCode.Unavailable, `GET http://${o.http}${path} answered ${res.statusCode}`));
      resolve(res);
    });
    req.on("error", (err) => reject(new MedfclError(ErrorCode.Unavailable, `cannot reach the coordinator's HTTP port ${o.http} (--http): ${err.message}`, { cause: err })));
    o.signal?.addEventListener("abort", () => req.destroy(), { once: true });
    req.end();
  });
}

export async function fetchSnapshot(o: WatchOptions): Promise<DashboardSnapshot> {
  const res = await open(o, "/api/state");
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as DashboardSnapshot;
}

/** Folds one event into the view, as the page does. Returns true when the snapshot should be re-read. */
export function applyEvent(view: { sites: SiteView[]; run: RunView }, e: MedfclEvent): boolean {
  const site = "siteId" in e ? view.sites.find((s) => s.siteId === e.siteId) : undefined;
  const run = "runId" in e && e.runId === view.run.runId ? view.run : undefined;
  const step = (index: number) => {
    let st = view.run.steps.find((s) => s.index === index);
    if (!st) {
      st = { index, domain: "", state: "open", sites: [], version: null, dropouts: [], roundsDone: 0 };
      view.run.steps.push(st);
      view.run.steps.sort((a, b) => a.index - b.index);
    }
    return st;
  };
  switch (e.type) {
    case "site.heartbeat":
      if (site) {
        if ((e.taskId ?? null) !== site.taskId) {
          site.progress = null;
          site.loss = null;
        }
        site.state = e.state;
        site.taskId = e.taskId ?? null;
        site.lastHeartbeatAt = e.at;
        site.alive = true;
      }
      return false;
    case "site.progress":
      if (site) {
        site.taskId = e.taskId;
        site.runId = e.runId ?? site.runId;
        site.progress = e.progress;
        site.loss = e.loss ?? site.loss;
      }
      return false;
    case "task.assigned":
      if (site) {
        site.runId = e.runId;
        site.taskId = e.taskId;
        site.progress = 0;
      }
      if (run) step(e.step).state = "training";
      return false;
    case "step.opened":
      if (run) {
        const st = step(e.step);
        st.state = "training";
        st.sites = e.sites;
        // step.opened names sites, not the domain: the sites' domains stand in until the next re-read.
        if (!st.domain) st.domain = e.sites.map((id) => view.sites.find((s) => s.siteId === id)?.domain ?? id).join("+");
        run.state = "running";
      }
      return false;
    case "update.received":
      if (run) run.updates.received++;
      return false;
    case "update.rejected":
      if (run) run.updates.rejected.push({ siteId: e.siteId, taskId: e.taskId, reason: e.reason });
      return false;
    case "site.dropout":
      if (run && !step(e.step).dropouts.includes(e.siteId)) step(e.step).dropouts.push(e.siteId);
      return false;
    case "evaluated":
      if (run) {
        run.evals[String(e.step)] = e.ap;
        for (const d of Object.keys(e.ap)) if (!run.domains.includes(d)) run.domains.push(d);
        step(e.step).state = "evaluating";
      }
      return false;
    case "step.closed":
      if (run) {
        step(e.step).state = "closed";
        if (e.version) step(e.step).version = e.version;
      }
      return Boolean(run);
    case "run.completed":
      if (run) run.state = "completed";
      return false;
    case "run.failed":
      if (run) {
        run.state = "failed";
        run.error = e.reason;
      }
      return false;
    case "run.paused":
      if (run) run.error = `paused while ${e.phase}: ${e.reason}`;
      return false;
    case "run.resumed":
      if (run) run.error = null;
      return false;
    case "site.registered":
    case "run.created":
    case "exemplar.refused":
      return false;
    default: {
      const never: never = e;
      return Boolean(never);
    }
  }
}

function bar(fraction: number | null, width: number): string {
  const f = fraction === null ? 0 : Math.max(0, Math.min(1, fraction));
  const n = Math.round(f * width);
  return `[${"#".repeat(n)}${".".repeat(width - n)}]`;
}

function ago(iso: string | null, now: number): string {
  if (!iso) return "-";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s ago` : `${Math.floor(s / 60)}m ago`;
}

export function runFraction(run: RunView, sites: SiteView[]): number {
  if (run.state === "completed") return 1;
  const closed = run.steps.filter((s) => s.state === "closed").length;
  const open = run.steps.find((s) => s.state !== "closed");
  let partial = 0;
  if (open && open.sites.length) {
    partial = open.sites.map((id) => sites.find((s) => s.siteId === id && s.runId === run.runId)?.progress ?? 0).reduce((a, b) => a + b, 0) / open.sites.length;
  }
  return Math.min(1, (closed + partial) / Math.max(1, run.plannedSteps));
}

/** The text of one frame: the run with its progress, one progress bar per site of the run, and R. */
export function renderFrame(run: RunView, sites: SiteView[], now = Date.now()): string {
  const lines: string[] = [];
  const closed = run.steps.filter((s) => s.state === "closed").length;
  const dropouts = run.steps.reduce((n, s) => n + s.dropouts.length, 0);
  lines.push(`${run.name} (${run.strategy}) ${run.state}${run.error ? `: ${run.error}` : ""}`);
  lines.push(`  ${bar(runFraction(run, sites), 40)} ${Math.round(runFraction(run, sites) * 100)}%  steps ${closed}/${run.plannedSteps}  updates ${run.updates.received}  rejected ${run.updates.rejected.length}  dropouts ${dropouts}`);
  lines.push("");
  const mine = run.sites.map((id) => sites.find((s) => s.siteId === id) ?? null);
  const w = Math.max(4, ...run.sites.map((s) => s.length));
  for (let i = 0; i < run.sites.length; i++) {
    const s = mine[i];
    if (!s) {
      lines.push(`  ${run.sites[i].padEnd(w)}  (not registered)`);
      continue;
    }
    const busy = s.runId === run.runId ? s.progress : null;
    const state = s.alive === false ? "silent" : s.state;
    lines.push(
      `  ${s.siteId.padEnd(w)}  ${state.padEnd(11)} ${bar(busy, 24)} ${busy === null ? "   -" : `${Math.round(busy * 100)}%`.padStart(4)}  loss ${s.loss === null ? "-" : s.loss.toFixed(4)}  heartbeat ${ago(s.lastHeartbeatAt ?? s.lastSeenAt, now)}`,
    );
  }
  const rows = run.steps.filter((s) => run.evals[String(s.index)]);
  if (rows.length && run.domains.length) {
    lines.push("", `  R (AP %)${" ".repeat(Math.max(0, 14 - 8))}${run.domains.map((d) => d.slice(0, 9).padStart(10)).join("")}`);
    for (const s of rows) {
      const label = `${s.index} ${s.domain}`.slice(0, 14).padEnd(14);
      lines.push(`  ${label}${run.domains.map((d) => (run.evals[String(s.index)][d] === undefined ? "-" : run.evals[String(s.index)][d].toFixed(1)).padStart(10)).join("")}`);
    }
  }
  for (const u of run.updates.rejected) lines.push(`  rejected: ${u.siteId} ${u.taskId.slice(0, 8)}: ${u.reason}`);
  return lines.join("\n");
}

function findRun(snap: DashboardSnapshot, run: string): RunView {
  const r = snap.runs.find((x) => x.runId === run || x.name === run);
  if (!r) throw new MedfclError(ErrorCode.NotFound, `run "${run}" is not among the coordinator's latest runs (${snap.runs.map((x) => x.name).join(", ") || "none"})`, { details: { run } });
  return r;
}

/** Whether a failure of the HTTP side is the coordinator being away (restart, network), not a refusal. */
function transient(err: unknown): boolean {
  return !(err instanceof MedfclError) || err.code === ErrorCode.Unavailable;
}

/**
 * Watches until the run ends (or the signal aborts); returns the run's final state. When the
 * coordinator goes away (a restart) it reconnects with backoff, reads the state again and follows
 * the new stream; events are delivered at least once, so each is applied once by its id.
 */
export async function watchRun(o: WatchOptions): Promise<string> {
  const seen = new Set<string>();
  const seenOrder: string[] = [];
  const repeated = (e: MedfclEvent): boolean => {
    if (!e.id) return false;
    if (seen.has(e.id)) return true;
    seen.add(e.id);
    seenOrder.push(e.id);
    if (seenOrder.length > 5000) seen.delete(seenOrder.shift()!);
    return false;
  };
  let lastState = "unknown";
  for (let attempt = 0; ; ) {
    if (o.signal?.aborted) return lastState;
    try {
      let snap = await fetchSnapshot(o);
      const view = { sites: snap.sites, run: findRun(snap, o.run) };
      lastState = view.run.state;
      o.render(renderFrame(view.run, view.sites));
      if (o.once || TERMINAL.includes(view.run.state)) return view.run.state;
      attempt = 0;
      let lastSeq = snap.lastSeq;
      const res = await open(o, `/events?after=${lastSeq}`);
      let buf = "";
      res.setEncoding("utf8");
      for await (const chunk of res) {
        buf += chunk as string;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id = 0;
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) id = Number(line.slice(4));
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (!data || id <= lastSeq) continue;
          lastSeq = id;
          const event = JSON.parse(data) as MedfclEvent;
          if (repeated(event)) continue;
          if (applyEvent(view, event)) {
            snap = await fetchSnapshot(o);
            view.sites = snap.sites;
            view.run = findRun(snap, o.run);
          }
          lastState = view.run.state;
          o.render(renderFrame(view.run, view.sites));
          if (TERMINAL.includes(view.run.state)) {
            res.destroy();
            return view.run.state;
          }
        }
      }
      // The coordinator closed the stream (a restart): read the state again and follow the new one.
    } catch (err) {
      if (o.signal?.aborted) return lastState;
      if (o.once || !transient(err)) throw err;
      attempt++;
      const delay = backoffMs(attempt, { baseMs: 500, maxMs: 10_000 });
      o.onRetry?.(`the coordinator at ${o.http} is not answering (${(err as Error).message}); trying again in ${(delay / 1000).toFixed(1)} s`);
      await sleepUnlessAborted(delay, o.signal);
      continue;
    }
    await sleepUnlessAborted(500, o.signal);
  }
}
