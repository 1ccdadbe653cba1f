import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { CoordinatorContext } from "./context.js";
import type { DashboardFeed, FeedEntry } from "./dashboard/feed.js";
import { DASHBOARD_CSP, dashboardPage } from "./dashboard/page.js";
import { dashboardSnapshot } from "./dashboard/snapshot.js";
import { BLOB_KINDS, blobInventory, blobUsage } from "./maintenance.js";
import { STORAGE_STATES } from "./storage-guard.js";
import * as store from "./store/index.js";

/** Prometheus text format: counts operators alert on (sites, runs by state, rejected updates). */
export function metricsText(ctx: CoordinatorContext): string {
  const lines: string[] = [];
  const sites = store.listSites(ctx.db);
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  lines.push("# HELP medfcl_sites Registered sites.", "# TYPE medfcl_sites gauge", `medfcl_sites ${sites.length}`);
  lines.push("# HELP medfcl_sites_alive Sites heard from within the heartbeat window.", "# TYPE medfcl_sites_alive gauge");
  lines.push(`medfcl_sites_alive ${sites.filter((s) => Date.now() - Date.parse(ctx.liveness.lastSeenAt(s)) <= silentMs).length}`);
  lines.push("# HELP medfcl_runs Runs by state.", "# TYPE medfcl_runs gauge");
  const byState = store.runCountsByState(ctx.db);
  for (const r of byState) lines.push(`medfcl_runs{state="${r.state}"} ${r.n}`);
  const upd = store.updateCountsByAccepted(ctx.db);
  lines.push("# HELP medfcl_updates_total Updates received.", "# TYPE medfcl_updates_total counter");
  for (const u of upd) lines.push(`medfcl_updates_total{accepted="${u.accepted ? "true" : "false"}"} ${u.n}`);
  lines.push("# HELP medfcl_exemplars Stored replay exemplars.", "# TYPE medfcl_exemplars gauge", `medfcl_exemplars ${store.exemplarCount(ctx.db)}`);
  lines.push(...storageMetrics(ctx));
  return `${lines.join("\n")}\n`;
}

/** Whether the state dir takes writes, and why not: the numbers an operator alerts on before and after the disk fills. */
function storageMetrics(ctx: CoordinatorContext): string[] {
  const st = ctx.storage.status();
  const lines = [
    "# HELP medfcl_storage_state 1 for the state the coordinator's storage is in (ok, disk-full: writes refused for lack of space, disk-error: an I/O error or a read-only filesystem).",
    "# TYPE medfcl_storage_state gauge",
    ...STORAGE_STATES.map((s) => `medfcl_storage_state{state="${s}"} ${s === st.state ? 1 : 0}`),
    "# HELP medfcl_storage_write_failures_total Writes that failed for a storage fault (ENOSPC, EDQUOT, EIO, EROFS, SQLITE_FULL).",
    "# TYPE medfcl_storage_write_failures_total counter",
    `medfcl_storage_write_failures_total ${st.writeFailures}`,
    "# HELP medfcl_state_dir_min_free_bytes coordinator.minFreeBytes: below it uploads and run creation are refused.",
    "# TYPE medfcl_state_dir_min_free_bytes gauge",
    `medfcl_state_dir_min_free_bytes ${st.watermarkBytes}`,
  ];
  if (st.freeBytes !== null) lines.push("# HELP medfcl_state_dir_free_bytes Free bytes of the state dir's filesystem.", "# TYPE medfcl_state_dir_free_bytes gauge", `medfcl_state_dir_free_bytes ${st.freeBytes}`);
  // What the blobs are, so growth is visible before the disk fills; ended-update and unreferenced are what `store gc` frees.
  const usage = blobUsage(blobInventory(ctx.db, ctx.blobs));
  lines.push("# HELP medfcl_blob_store_bytes Bytes in the blob store by kind (store gc deletes ended-update and unreferenced).", "# TYPE medfcl_blob_store_bytes gauge");
  for (const k of BLOB_KINDS) lines.push(`medfcl_blob_store_bytes{kind="${k}"} ${usage[k].bytes}`);
  lines.push("# HELP medfcl_blob_store_blobs Blobs in the blob store by kind.", "# TYPE medfcl_blob_store_blobs gauge");
  for (const k of BLOB_KINDS) lines.push(`medfcl_blob_store_blobs{kind="${k}"} ${usage[k].blobs}`);
  return lines;
}

const COOKIE = "medfcl_dashboard";

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: IncomingMessage): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE) return decodeURIComponent(v.join("="));
  }
  return null;
}

type Access = "ok" | "unauthenticated" | "off";

/** Bearer header or the cookie `/?token=` set; "off" when no token is configured at all. */
export function dashboardAccess(ctx: CoordinatorContext, req: IncomingMessage): Access {
  const token = ctx.config.dashboardToken;
  if (!token) return "off";
  const auth = req.headers.authorization ?? "";
  const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  if (bearer && sameSecret(bearer, token)) return "ok";
  const c = cookieToken(req);
  if (c && sameSecret(c, token)) return "ok";
  return "unauthenticated";
}

function refuse(res: ServerResponse, access: Exclude<Access, "ok">, html: boolean): void {
  if (access === "off") {
    res.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end("the dashboard is off: set coordinator.dashboardToken (MEDFCL_COORDINATOR_DASHBOARD_TOKEN) to turn it on\n");
    return;
  }
  res.writeHead(401, { "www-authenticate": 'Bearer realm="medfcl"', "content-type": html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8" });
  res.end(
    html
      ? `<!doctype html><meta charset="utf-8"><title>medfcl: sign in</title><body style="font-family:system-ui,sans-serif;margin:3em"><h1>medfcl coordinator</h1><p>This dashboard needs the token from <code>coordinator.dashboardToken</code>.</p><form method="get" action="/"><input name="token" type="password" size="40" autofocus placeholder="token"> <button>open</button></form></body>`
      : "unauthenticated: send Authorization: Bearer <coordinator.dashboardToken>\n",
  );
}

/** Server-Sent Events: the events after Last-Event-ID (or ?after=) from the ring, then each new one as it is published. */
function serveEvents(req: IncomingMessage, res: ServerResponse, url: URL, feed: DashboardFeed): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" });
  res.socket?.setNoDelay(true);
  const send = (e: FeedEntry): void => void res.write(`id: ${e.seq}\nevent: medfcl\ndata: ${JSON.stringify(e.event)}\n\n`);
  const after = Number(req.headers["last-event-id"] ?? url.searchParams.get("after") ?? feed.lastSeq);
  res.write("retry: 2000\n\n");
  for (const e of feed.since(Number.isFinite(after) ? after : feed.lastSeq)) send(e);
  const unsubscribe = feed.subscribe(send);
  // A comment every 15 s keeps proxies from closing an idle stream.
  const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
  const stop = (): void => {
    clearInterval(ping);
    unsubscribe();
  };
  req.on("close", stop);
  res.on("error", stop);
}

export function startHttp(ctx: CoordinatorContext, host: string, port: number, feed: DashboardFeed): Promise<Server> {
  const server = createServer((req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/healthz") {
        // 200 while the process serves (container health checks restart on anything else, and a
        // restart frees no disk); `writable` and `storage` say whether uploads are taken, and why not.
        const storage = ctx.storage.status();
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, version: ctx.version, writable: storage.state === "ok", storage }));
        return;
      }
      if (url.pathname === "/metrics") {
        const access = ctx.config.metricsAuth === "open" ? "ok" : dashboardAccess(ctx, req);
        if (access !== "ok") return refuse(res, access, false);
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metricsText(ctx));
        return;
      }
      if (!["/", "/index.html", "/api/state", "/events"].includes(url.pathname)) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      // Opening /?token=... once in a browser trades the token for an HttpOnly cookie, so it leaves
      // the address bar and EventSource (which cannot send headers) is authenticated too.
      const offered = url.pathname === "/" ? url.searchParams.get("token") : null;
      if (offered !== null && ctx.config.dashboardToken && sameSecret(offered, ctx.config.dashboardToken)) {
        res.writeHead(303, { location: "/", "set-cookie": `${COOKIE}=${encodeURIComponent(offered)}; HttpOnly; SameSite=Strict; Path=/`, "cache-control": "no-store" }).end();
        return;
      }
      const access = dashboardAccess(ctx, req);
      if (access !== "ok") return refuse(res, access, url.pathname === "/" || url.pathname === "/index.html");
      if (url.pathname === "/api/state") {
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(dashboardSnapshot(ctx, feed)));
      } else if (url.pathname === "/events") {
        serveEvents(req, res, url, feed);
      } else {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": DASHBOARD_CSP }).end(dashboardPage());
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
