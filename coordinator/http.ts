import { createServer, type Server } from "node:http";
import type { CoordinatorContext } from "./context.js";
import * as db from "./db.js";
import { continualMetrics } from "../services/eval/index.js";
import { runToWire } from "./admin-service.js";
import { accuracyMatrix } from "./run-artifacts.js";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Prometheus text format: counts operators alert on (sites, runs by state, rejected updates). */
export function metricsText(ctx: CoordinatorContext): string {
  const lines: string[] = [];
  const sites = db.listSites(ctx.db);
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  lines.push("# HELP medfcl_sites Registered sites.", "# TYPE medfcl_sites gauge", `medfcl_sites ${sites.length}`);
  lines.push("# HELP medfcl_sites_alive Sites heard from within the heartbeat window.", "# TYPE medfcl_sites_alive gauge");
  lines.push(`medfcl_sites_alive ${sites.filter((s) => Date.now() - Date.parse(s.last_seen_at) <= silentMs).length}`);
  lines.push("# HELP medfcl_runs Runs by state.", "# TYPE medfcl_runs gauge");
  const byState = ctx.db.prepare("SELECT state, COUNT(*) AS n FROM runs GROUP BY state").all() as { state: string; n: number }[];
  for (const r of byState) lines.push(`medfcl_runs{state="${r.state}"} ${r.n}`);
  const upd = ctx.db.prepare("SELECT accepted, COUNT(*) AS n FROM updates GROUP BY accepted").all() as { accepted: number; n: number }[];
  lines.push("# HELP medfcl_updates_total Updates received.", "# TYPE medfcl_updates_total counter");
  for (const u of upd) lines.push(`medfcl_updates_total{accepted="${u.accepted ? "true" : "false"}"} ${u.n}`);
  const ex = ctx.db.prepare("SELECT COUNT(*) AS n FROM exemplars").get() as { n: number };
  lines.push("# HELP medfcl_exemplars Stored replay exemplars.", "# TYPE medfcl_exemplars gauge", `medfcl_exemplars ${ex.n}`);
  return `${lines.join("\n")}\n`;
}

/** A small read-only dashboard: runs, their R matrix and sites. No scripts, so it works air-gapped. */
export function dashboardHtml(ctx: CoordinatorContext): string {
  const runs = db.listRuns(ctx.db, { limit: 50, offset: 0 });
  const sites = db.listSites(ctx.db);
  const runBlocks = runs.map((r) => {
    const run = runToWire(ctx, r);
    const m = accuracyMatrix(ctx, r.run_id);
    const head = `<tr><th>step</th>${m.domains.map((d) => `<th>${escapeHtml(d)}</th>`).join("")}</tr>`;
    const rows = m.ap.map((row, i) => `<tr><th>${escapeHtml(m.steps[i])}</th>${row.map((v) => `<td>${v === null ? "–" : v.toFixed(1)}</td>`).join("")}</tr>`).join("");
    const cl = m.ap.length && m.domains.length >= m.steps.length ? continualMetrics(m) : null;
    const metrics = cl ? `ACC ${cl.acc?.toFixed(2) ?? "–"} · BWT ${cl.bwt?.toFixed(2) ?? "–"} · forgetting ${cl.forgetting.mean?.toFixed(2) ?? "–"}` : "";
    return `<h2>${escapeHtml(run.name!)} <small>${escapeHtml(run.strategy!)} · ${escapeHtml(run.state!)}</small></h2><p>${escapeHtml(metrics)}</p><table>${head}${rows}</table>`;
  });
  const siteRows = sites.map((s) => `<tr><td>${escapeHtml(s.site_id)}</td><td>${escapeHtml(s.domain)}</td><td>${escapeHtml(s.backend)}</td><td>${escapeHtml(s.last_seen_at)}</td></tr>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>medfcl coordinator</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head>
<body><h1>medfcl coordinator</h1><h2>Sites</h2><table><tr><th>site</th><th>domain</th><th>backend</th><th>last seen</th></tr>${siteRows}</table>${runBlocks.join("")}</body></html>`;
}

export function startHttp(ctx: CoordinatorContext, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    try {
      if (req.url === "/healthz") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, version: ctx.version }));
      } else if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metricsText(ctx));
      } else if (req.url === "/" || req.url === "/index.html") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(dashboardHtml(ctx));
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      }
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`error: ${(err as Error).message}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
