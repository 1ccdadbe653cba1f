// The coordinator database: sites.
import type Database from "better-sqlite3";
import { z } from "zod";
import type { SiteRecord } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson } from "./parse.js";

interface SiteRow {
  site_id: string;
  domain: string;
  task: string;
  manifest_json: string;
  backend: string;
  agent_version: string;
  session_id: string;
  registered_at: string;
  last_seen_at: string;
}

const manifestSchema = z.object({ num_images: z.number().int().min(0) }).passthrough();

function siteFromRow(r: SiteRow): SiteRecord {
  return {
    siteId: r.site_id,
    domain: r.domain,
    task: r.task,
    manifest: parseJson(manifestSchema, r.manifest_json, { table: "sites", key: r.site_id, field: "manifest_json" }),
    backend: r.backend,
    agentVersion: r.agent_version,
    sessionId: r.session_id,
    registeredAt: r.registered_at,
    lastSeenAt: r.last_seen_at,
  };
}

export function upsertSite(db: Db, site: Omit<SiteRecord, "registeredAt" | "lastSeenAt">): void {
  // Dropped before the write, so a transaction around it that rolls back leaves no stale entry.
  sessionReaders.get(db)?.sessions.delete(site.siteId);
  const now = nowIso();
  db.prepare(
    `INSERT INTO sites (site_id, domain, task, manifest_json, backend, agent_version, session_id, registered_at, last_seen_at)
     VALUES (@site_id, @domain, @task, @manifest_json, @backend, @agent_version, @session_id, @now, @now)
     ON CONFLICT(site_id) DO UPDATE SET domain=@domain, task=@task, manifest_json=@manifest_json, backend=@backend,
       agent_version=@agent_version, session_id=@session_id, last_seen_at=@now`,
  ).run({
    site_id: site.siteId,
    domain: site.domain,
    task: site.task,
    manifest_json: JSON.stringify(site.manifest),
    backend: site.backend,
    agent_version: site.agentVersion,
    session_id: site.sessionId,
    now,
  });
}

export function getSite(db: Db, siteId: string): SiteRecord | undefined {
  const row = db.prepare("SELECT * FROM sites WHERE site_id = ?").get(siteId) as SiteRow | undefined;
  return row && siteFromRow(row);
}

/** Per database: the one prepared session query, and the session ids read so far (upsertSite, the only writer of session_id, drops a site's entry). */
const sessionReaders = new WeakMap<Db, { stmt: Database.Statement; sessions: Map<string, string> }>();

/**
 * A site's session id alone: every heartbeat asks it (1,000 agents at one beat per 1.5 s are ~670 a
 * second), and getSite would re-prepare the query and re-validate the whole manifest each time. It
 * is read once through one prepared statement and then kept in memory (the SELECT was a tenth of
 * the coordinator's CPU under bench/load.ts); the coordinator is the database's only writer.
 */
export function siteSession(db: Db, siteId: string): string | undefined {
  let reader = sessionReaders.get(db);
  if (!reader) {
    reader = { stmt: db.prepare("SELECT session_id FROM sites WHERE site_id = ?"), sessions: new Map() };
    sessionReaders.set(db, reader);
  }
  const cached = reader.sessions.get(siteId);
  if (cached !== undefined) return cached;
  const session = (reader.stmt.get(siteId) as { session_id: string } | undefined)?.session_id;
  if (session !== undefined) reader.sessions.set(siteId, session);
  return session;
}

export function listSites(db: Db): SiteRecord[] {
  return (db.prepare("SELECT * FROM sites ORDER BY site_id").all() as SiteRow[]).map(siteFromRow);
}
