// Evaluation at the sites with real processes: a coordinator and two agents started through the
// CLI, real training on the tiny synthetic suite, real COCO evaluation at each site on its own
// held-out split. Plaintext gRPC (--insecure) through a recording TCP proxy, so that every byte
// the coordinator received can be searched.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { loadCocoDataset, synthesizeSuite, type SuiteIndex } from "../../services/data/index.js";
import { writeAuditReport } from "../../services/eval/index.js";
import { createOnnxDetector, exportOnnx, parseCheckpoint } from "../../services/model/index.js";
import { createAdminClient, evaluationPlacementWire, type EvaluationPlacement } from "../../services/transport/index.js";
import { freePort } from "../helpers/nats.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;
const SITES = ["site-1", "site-2"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

interface Federation {
  address: string;
  stateDir: string;
  received(): Buffer;
  stop(): Promise<void>;
}

describe("site evaluation - coordinator and agents as processes", { timeout: 600_000 }, () => {
  const dir = tempDir("medfcl-site-eval-it-");
  let suite: SuiteIndex;
  const procs: ChildProcess[] = [];

  function medfcl(name: string, args: string[]): ChildProcess {
    const p = spawn(process.execPath, ["--import", "tsx", join(root, "cli/main.ts"), ...args], { cwd: root, env: { ...process.env, MEDFCL_LOG_PRETTY: "0" }, stdio: ["ignore", "ignore", "pipe"] });
    const log: Buffer[] = [];
    p.stderr?.on("data", (d: Buffer) => log.push(d));
    p.on("exit", () => writeFileSync(join(dir, `${name}.log`), Buffer.concat(log)));
    procs.push(p);
    return p;
  }

  const domains = () => suite.domains.filter((d) => d.role === "train").slice(0, SITES.length);
  const testDir = (d: { splits: { test: string } }) => join(dir, "suite", d.splits.test);

  /** A coordinator (with or without central test sets) behind a recording proxy, and one agent per site with its test split. */
  async function federation(name: string, centralTestSets: boolean): Promise<Federation> {
    const port = await freePort();
    const stateDir = join(dir, name, "coordinator");
    const evalArgs = centralTestSets ? domains().flatMap((d) => ["--eval-set", `${d.name}=${testDir(d)}`]) : [];
    const coord = medfcl(`${name}-coordinator`, ["coordinator", "--insecure", "--listen", `127.0.0.1:${port}`, "--http", `127.0.0.1:${await freePort()}`, "--state-dir", stateDir, ...evalArgs]);
    const received: Buffer[] = [];
    const proxy: TcpProxy = await startTcpProxy({ host: "127.0.0.1", port }, Number.POSITIVE_INFINITY, (b) => received.push(Buffer.from(b)));
    const agents = domains().map((d, i) =>
      medfcl(`${name}-${SITES[i]}`, ["agent", "--insecure", "--site", SITES[i], "--coordinator", proxy.address, "--data", join(dir, "suite", d.splits.train!), "--test-data", testDir(d), "--domain", d.name,
        "--state-dir", join(dir, name, SITES[i])]),
    );
    return {
      address: proxy.address,
      stateDir,
      received: () => Buffer.concat(received),
      async stop() {
        for (const p of [...agents, coord]) p.kill("SIGTERM");
        await Promise.all([...agents, coord].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
        await proxy.close();
      },
    };
  }

  async function run(f: Federation, name: string, evaluation: EvaluationPlacement) {
    const admin = createAdminClient(f.address, { insecure: true });
    let runId = "";
    for (let i = 0; !runId; i++) {
      try {
        runId = (await admin.createRun({ name, strategy: "sequential", sites: SITES, seed: 3, model: "nano", evaluation: evaluationPlacementWire.toWire(evaluation),
          hyperparameters: { lr: 2e-3, text_lr: 2e-4, epochs: 1, max_steps: 3, batch_size: 4, freeze_stages: 0, grad_clip: 5, seed: 3 } })).run_id;
      } catch (err) {
        if (i > 240) throw err; // agents still registering
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const done = await admin.waitForRun(runId, { pollMs: 500, timeoutMs: 300_000 });
    assert.equal(done.state, "completed", done.error);
    const audit = await admin.getAudit(runId);
    admin.close();
    return { runId, audit };
  }

  before(async () => {
    suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 3, scale: "tiny" });
  });

  after(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  });

  it("site evaluation - with no central test set the sites fill the whole of R and the audit; no test image and no detection reaches the coordinator's state or its inbound bytes", async () => {
    const f = await federation("sites", false);
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run(f, "at-sites", "sites");
    } finally {
      await f.stop();
    }
    const { runId, audit } = result;
    const m = audit.matrix!;
    assert.deepEqual(m.steps, domains().map((d) => d.name));
    assert.deepEqual(m.domains, domains().map((d) => d.name), "R's columns are the sites' domains: the coordinator has no test set of its own");
    assert.ok(m.rows.every((r) => r.cells.every((c) => !c.missing)), "every cell of R is filled by a site");
    assert.ok(["acc", "bwt"].every((k) => audit.metrics.some((x) => x.name === k)), "the audit has ACC and BWT");

    const db = new Database(join(f.stateDir, "coordinator.sqlite"), { readonly: true });
    const rows = db.prepare("SELECT step, domain, source, stats_json FROM evaluations WHERE run_id = ?").all(runId) as { step: number; domain: string; source: string; stats_json: string }[];
    const versions = (db.prepare("SELECT version FROM versions WHERE run_id = ?").all(runId) as { version: string }[]).map((v) => v.version);
    db.close();
    assert.equal(rows.length, 3 * SITES.length, "base + 2 steps, one cell per site");
    assert.ok(rows.every((r) => r.source === `site:${SITES[domains().findIndex((d) => d.name === r.domain)]}`));

    const received = f.received();
    // Control: the search sees what the sites did send. Each stored row's 12 statistics travelled
    // as 96 contiguous bytes (packed doubles).
    for (const r of rows) {
      const packed = Buffer.alloc(96);
      (JSON.parse(r.stats_json) as number[]).forEach((v, i) => packed.writeDoubleLE(v, i * 8));
      assert.ok(received.indexOf(packed) >= 0, `the statistics of step ${r.step} / ${r.domain} are in the coordinator's inbound bytes`);
    }

    // Needles: slices of every test image file, and every detection the sites' models make on
    // their test splits (the same model bytes, the same code), as float64, float32 and text.
    const needles: { what: string; bytes: Buffer }[] = [];
    for (const d of domains()) {
      for (const file of readdirSync(join(testDir(d), "images"))) {
        const img = readFileSync(join(testDir(d), "images", file));
        for (const at of [0.25, 0.5, 0.75]) {
          const o = Math.floor(img.length * at);
          needles.push({ what: `${d.name}/${file}@${o}`, bytes: img.subarray(o, o + 48) });
        }
      }
      const ds = await loadCocoDataset(testDir(d));
      for (const version of versions) {
        const { config, tensors } = parseCheckpoint(readFileSync(join(f.stateDir, "blobs", version.slice(0, 2), version)), "version");
        const det = await createOnnxDetector(exportOnnx(config, tensors), config, { threads: 2 });
        const dets = (await det.predictDataset(ds)).slice(0, 150);
        await det.close();
        // A detection as any encoding would carry it: its box and score as float64s, as float32s, as text.
        for (const x of dets) {
          const values = [...x.bbox, x.score];
          const f64 = Buffer.alloc(8 * values.length);
          const f32 = Buffer.alloc(4 * values.length);
          values.forEach((v, i) => (f64.writeDoubleLE(v, 8 * i), f32.writeFloatLE(v, 4 * i)));
          needles.push({ what: `detection ${values.join(",")} (float64)`, bytes: f64 }, { what: `detection ${values.join(",")} (float32)`, bytes: f32 }, { what: `detection box ${JSON.stringify(x.bbox)} (text)`, bytes: Buffer.from(JSON.stringify(x.bbox)) });
          if (String(x.score).length >= 10) needles.push({ what: `detection score ${x.score} (text)`, bytes: Buffer.from(String(x.score)) });
        }
      }
    }
    assert.ok(needles.length > 100, `${needles.length} needles`);
    const haystacks = [{ name: "inbound gRPC bytes", bytes: received }, ...filesUnder(f.stateDir).map((p) => ({ name: p, bytes: readFileSync(p) }))];
    for (const h of haystacks) {
      for (const n of needles) assert.equal(h.bytes.indexOf(n.bytes), -1, `${h.name} holds ${n.what}`);
    }

    // The report shows R from the sites.
    const runDir = join(f.stateDir, "runs", "at-sites");
    await writeAuditReport(runDir);
    assert.match(readFileSync(join(runDir, "report", "report.md"), "utf8"), /Evaluation at the sites \(sites\)/);
  });

  it("site evaluation - evaluating both centrally and at the sites gives the same R, bit for bit", async () => {
    const f = await federation("both", true);
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run(f, "at-both", "both");
    } finally {
      await f.stop();
    }
    const { runId, audit } = result;
    assert.equal(audit.evaluation_agreement!.cells_compared, 3 * SITES.length, "base + 2 steps × 2 domains compared");
    assert.deepEqual(audit.evaluation_agreement!.mismatches, []);
    const db = new Database(join(f.stateDir, "coordinator.sqlite"), { readonly: true });
    const central = db.prepare("SELECT step, domain, ap, stats_json, per_category_json FROM evaluations WHERE run_id = ? AND source = 'central' ORDER BY step, domain").all(runId) as { step: number; domain: string; ap: number; stats_json: string; per_category_json: string }[];
    const atSites = db.prepare("SELECT step, domain, result_json FROM eval_tasks WHERE run_id = ? AND state = 'done' ORDER BY step, domain").all(runId) as { step: number; domain: string; result_json: string }[];
    db.close();
    assert.equal(atSites.length, central.length);
    for (const s of atSites) {
      const c = central.find((x) => x.step === s.step && x.domain === s.domain)!;
      const r = JSON.parse(s.result_json) as { ap: number; stats: number[]; perCategoryAp: Record<string, number> };
      assert.equal(r.ap, c.ap, `AP of step ${s.step} / ${s.domain}`);
      assert.deepEqual(r.stats, JSON.parse(c.stats_json));
      assert.deepEqual(r.perCategoryAp, JSON.parse(c.per_category_json));
    }
    assert.ok(central.some((c) => c.ap > 0) || central.every((c) => c.ap === 0));
  });
});
