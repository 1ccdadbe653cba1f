// Real processes: a coordinator and three agents started through the CLI, mTLS, a real nats-server
// with JetStream, real training on the tiny synthetic suite and real central COCO evaluation.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { connect } from "@nats-io/transport-node";
import { synthesizeSuite } from "../../services/data/index.js";
import { writeAuditReport } from "../../services/eval/index.js";
import { createAdminClient, createCertificateAuthority, issueAdminCertificate, issueCoordinatorCertificate, issueSiteCertificate } from "../../services/transport/index.js";
import { freePort, natsSkipReason, startNatsServer, type NatsServerHandle } from "../helpers/nats.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;

describe("federation - coordinator and agents as processes", { skip: natsSkipReason(), timeout: 420_000 }, () => {
  const dir = tempDir("medfcl-fed-");
  const sites = ["site-1", "site-2", "site-3"];
  const procs: ChildProcess[] = [];
  let nats: NatsServerHandle;
  let address = "";
  let certs: Record<string, { cert: string; key: string }> = {};
  let ca = "";
  const subjects = new Set<string>();
  let closeSub: () => Promise<void> = async () => {};

  function medfcl(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const p = spawn(process.execPath, ["--import", "tsx", join(root, "cli/main.ts"), ...args], { cwd: root, env: { ...process.env, MEDFCL_LOG_PRETTY: "0", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    const log: Buffer[] = [];
    p.stderr?.on("data", (d: Buffer) => log.push(d));
    p.on("exit", () => writeFileSync(join(dir, `${name}.log`), Buffer.concat(log)));
    procs.push(p);
    return p;
  }

  before(async () => {
    nats = await startNatsServer();
    const suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 3, scale: "tiny" });
    const authority = createCertificateAuthority({ keyBits: 2048 });
    mkdirSync(join(dir, "pki"));
    const put = (n: string, pem: string): string => (writeFileSync(join(dir, "pki", n), pem), join(dir, "pki", n));
    ca = put("ca.crt", authority.certPem);
    const server = issueCoordinatorCertificate(authority, ["localhost", "127.0.0.1"], { keyBits: 2048 });
    certs = Object.fromEntries(
      sites.map((id) => {
        const c = issueSiteCertificate(authority, id, { keyBits: 2048 });
        return [id, { cert: put(`${id}.crt`, c.certPem), key: put(`${id}.key`, c.keyPem) }];
      }),
    );
    const admin = issueAdminCertificate(authority, "admin", { keyBits: 2048 });
    certs.admin = { cert: put("admin.crt", admin.certPem), key: put("admin.key", admin.keyPem) };
    const nc = await connect({ servers: nats.url });
    const sub = nc.subscribe("medfcl.>");
    void (async () => {
      for await (const m of sub) subjects.add(m.subject);
    })();
    closeSub = async () => {
      await nc.drain();
    };

    address = `127.0.0.1:${await freePort()}`;
    const evalArgs = suite.domains.flatMap((d) => ["--eval-set", `${d.name}=${join(dir, "suite", d.splits.test)}`]);
    medfcl("coordinator", ["coordinator", "--listen", address, "--http", `127.0.0.1:${await freePort()}`, "--state-dir", join(dir, "coord"), "--nats", nats.url, ...evalArgs,
      "--tls-ca", ca, "--tls-cert", put("coord.crt", server.certPem), "--tls-key", put("coord.key", server.keyPem)], { MEDFCL_COORDINATOR_HEARTBEAT_INTERVAL_MS: "500", MEDFCL_COORDINATOR_HEARTBEAT_MISSES: "60" });
    const trainDomains = suite.domains.filter((d) => d.role === "train");
    sites.forEach((site, i) => {
      const d = trainDomains[i];
      medfcl(site, ["agent", "--site", site, "--coordinator", address, "--server-name", "localhost", "--data", join(dir, "suite", d.splits.train!), "--domain", d.name,
        "--state-dir", join(dir, site), "--tls-ca", ca, "--tls-cert", certs[site].cert, "--tls-key", certs[site].key]);
    });
  });

  after(async () => {
    await closeSub();
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
    await nats?.stop();
  });

  it("federation - a 3-step sequential run fills R in SQLite and the report, emits every event on NATS and records lineage", async () => {
    const admin = createAdminClient(address, { insecure: false, serverName: "localhost", tls: { ca, ...certs.admin } });
    let runId = "";
    for (let i = 0; !runId; i++) {
      try {
        runId = (await admin.createRun({ name: "it-seq", strategy: "sequential", sites, seed: 3, model: "nano",
          hyperparameters: { lr: 2e-3, text_lr: 2e-4, epochs: 1, max_steps: 4, batch_size: 4, freeze_stages: 0, grad_clip: 5, seed: 3 } })).run_id;
      } catch (err) {
        if (i > 200) throw err; // agents still registering
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const run = await admin.waitForRun(runId, { pollMs: 500, timeoutMs: 360_000 });
    assert.equal(run.state, "completed", run.error);
    const audit = await admin.getAudit(runId);
    admin.close();

    // R: 3 steps × 8 domains, through AdminService, in SQLite and in the report.
    assert.deepEqual(audit.matrix!.steps, ["kvasir", "clinicdb", "bkai"]);
    assert.equal(audit.matrix!.domains.length, 8);
    assert.ok(audit.matrix!.rows.every((r) => r.cells.length === 8 && r.cells.every((c) => !c.missing)));
    const db = new Database(join(dir, "coord", "coordinator.sqlite"), { readonly: true });
    const evals = db.prepare("SELECT step, COUNT(*) AS n FROM evaluations WHERE run_id = ? AND step >= 0 GROUP BY step ORDER BY step").all(runId) as { step: number; n: number }[];
    assert.deepEqual(evals, [{ step: 0, n: 8 }, { step: 1, n: 8 }, { step: 2, n: 8 }]);
    // Lineage: base → step 0 → step 1 → step 2, each with its parent and site.
    const versions = db.prepare("SELECT version, parent, step, sites_json FROM versions WHERE run_id = ? ORDER BY step").all(runId) as { version: string; parent: string | null; step: number; sites_json: string }[];
    db.close();
    assert.equal(versions.length, 4);
    for (let i = 1; i < versions.length; i++) {
      assert.equal(versions[i].parent, versions[i - 1].version);
      assert.deepEqual(JSON.parse(versions[i].sites_json), [sites[i - 1]]);
    }
    const runDir = join(dir, "coord", "runs", "it-seq");
    await writeAuditReport(runDir);
    const R = JSON.parse(readFileSync(join(runDir, "report", "R.json"), "utf8")) as { ap: number[][] };
    assert.equal(R.ap.length, 3);
    assert.ok(R.ap.every((row) => row.length === 8));

    // Every event type the issue names reached NATS.
    // medfcl.site.<site>.<type>, medfcl.run.<run>.<type> and medfcl.run.<run>.step.<k>.<type>
    const types = [...subjects].map((s) => {
      const parts = s.split(".");
      return parts.slice(parts[3] === "step" ? 5 : 3).join(".");
    });
    for (const t of ["opened", "task.assigned", "update.received", "evaluated", "closed", "heartbeat", "progress", "created", "completed", "registered"]) {
      assert.ok(types.includes(t), `no ${t} event among ${[...new Set(types)].join(", ")}`);
    }
  });

  it("federation - a second rehearsal run on the same agents gets the exemplars the sites exported before, re-offered", async () => {
    const admin = createAdminClient(address, { insecure: false, serverName: "localhost", tls: { ca, ...certs.admin } });
    const rehearsal = async (name: string): Promise<string> => {
      const { run_id } = await admin.createRun({ name, strategy: "rehearsal", sites: sites.slice(0, 2), seed: 3, model: "nano", options: { buffer: "6", mix: "0.5" },
        hyperparameters: { lr: 2e-3, text_lr: 2e-4, epochs: 1, max_steps: 2, batch_size: 4, freeze_stages: 0, grad_clip: 5, seed: 3 } });
      const run = await admin.waitForRun(run_id, { pollMs: 500, timeoutMs: 300_000 });
      assert.equal(run.state, "completed", run.error);
      return run_id;
    };
    const first = await rehearsal("it-reh-1");
    const second = await rehearsal("it-reh-2");
    admin.close();
    const db = new Database(join(dir, "coord", "coordinator.sqlite"), { readonly: true });
    const pool = (runId: string) => (db.prepare("SELECT exemplar_id FROM run_exemplars WHERE run_id = ? ORDER BY exemplar_id").all(runId) as { exemplar_id: string }[]).map((r) => r.exemplar_id);
    const [p1, p2] = [pool(first), pool(second)];
    db.close();
    assert.ok(p1.length > 0, "the first run received exemplars");
    // Same seed, same records: the second run's pool is the first's, sent again rather than refused
    // as duplicates of themselves.
    assert.deepEqual(p2, p1);
    const log = readFileSync(join(dir, "site-1", "privacy", "audit-site-1.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    assert.ok(log.some((e) => e.type === "exemplar-reoffer"), "the site's audit log records the re-offer");
  });
});
