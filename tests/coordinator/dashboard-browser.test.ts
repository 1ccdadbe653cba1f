// The live dashboard in a real Chromium during a real run: a coordinator and two agents as
// processes (tiny synthetic suite, real training and central evaluation, nats-server when
// installed), the page opened once with the token, then watched while the run goes on. The test's
// own MutationObserver stamps each DOM change; the events' publish times come from the
// coordinator's SQLite, so the SSE latency (event -> DOM) is measured outside the page's code.
// Screenshots go to test-output/dashboard/.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { synthesizeSuite } from "../../services/data/index.js";
import { writeAuditReport } from "../../services/eval/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { browserSkipReason, launchChromium, testOutputDir, type LaunchedBrowser, type PageElement, type PageGlobals } from "../helpers/browser.js";
import { freePort, natsAvailable, startNatsServer, type NatsServerHandle } from "../helpers/nats.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;
const TOKEN = "browser-test-token-5f0c1d2e3a4b";

interface Stamp {
  kind: "progress" | "cell";
  site?: string;
  progress?: number;
  step?: number;
  domain?: string;
  t: number;
}

const OBSERVER = `(() => {
  window.__marker = "no-reload";
  window.__stamps = [];
  const seen = new Set();
  function scan() {
    const t = Date.now();
    for (const tr of document.querySelectorAll("tr[data-site]")) {
      const b = tr.querySelector(".bar[data-progress]");
      const p = b && b.getAttribute("data-progress");
      const key = "p|" + tr.getAttribute("data-site") + "|" + p;
      if (p !== null && p !== undefined && !seen.has(key)) {
        seen.add(key);
        window.__stamps.push({ kind: "progress", site: tr.getAttribute("data-site"), progress: Number(p), t });
      }
    }
    for (const c of document.querySelectorAll(".heatmap g.cell")) {
      const key = "c|" + c.getAttribute("data-step") + "|" + c.getAttribute("data-domain");
      if (!seen.has(key)) {
        seen.add(key);
        window.__stamps.push({ kind: "cell", step: Number(c.getAttribute("data-step")), domain: c.getAttribute("data-domain"), t });
      }
    }
  }
  scan();
  new MutationObserver(scan).observe(document.querySelector("main"), { subtree: true, childList: true, attributes: true, characterData: true });
})()`;

describe("dashboard in a browser during a run", { skip: browserSkipReason(), timeout: 300_000 }, () => {
  const dir = tempDir("medfcl-dash-");
  const sites = ["site-1", "site-2"];
  const procs: ChildProcess[] = [];
  let nats: NatsServerHandle | undefined;
  let chrome: LaunchedBrowser;
  let grpcAddress = "";
  let http = "";

  function medfcl(name: string, args: string[], env: Record<string, string> = {}): void {
    const p = spawn(process.execPath, ["--import", "tsx", join(root, "cli/main.ts"), ...args], { cwd: root, env: { ...process.env, MEDFCL_LOG_PRETTY: "0", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    const log: Buffer[] = [];
    p.stderr?.on("data", (d: Buffer) => log.push(d));
    p.on("exit", () => writeFileSync(join(dir, `${name}.log`), Buffer.concat(log)));
    procs.push(p);
  }

  before(async () => {
    if (natsAvailable()) nats = await startNatsServer();
    const suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 5, scale: "tiny" });
    grpcAddress = `127.0.0.1:${await freePort()}`;
    http = `127.0.0.1:${await freePort()}`;
    const evalArgs = suite.domains.slice(0, 3).flatMap((d) => ["--eval-set", `${d.name}=${join(dir, "suite", d.splits.test)}`]);
    medfcl("coordinator", ["coordinator", "--insecure", "--listen", grpcAddress, "--http", http, "--state-dir", join(dir, "coord"), ...evalArgs, ...(nats ? ["--nats", nats.url] : [])], {
      MEDFCL_COORDINATOR_DASHBOARD_TOKEN: TOKEN,
      MEDFCL_COORDINATOR_HEARTBEAT_INTERVAL_MS: "250",
      MEDFCL_COORDINATOR_HEARTBEAT_MISSES: "200",
    });
    const train = suite.domains.filter((d) => d.role === "train");
    sites.forEach((site, i) =>
      medfcl(site, ["agent", "--insecure", "--site", site, "--coordinator", grpcAddress, "--data", join(dir, "suite", train[i].splits.train!), "--domain", train[i].name, "--state-dir", join(dir, site)]),
    );
    chrome = await launchChromium();
  });

  after(async () => {
    await chrome?.close();
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once("exit", r)))));
    await nats?.stop();
  });

  it("dashboard - refuses an unauthenticated browser, then shows progress and R live over SSE (< 1 s) without a reload", async () => {
    const out = testOutputDir("dashboard");
    process.stdout.write(`# dashboard screenshots: ${out}; logs: ${dir}\n`);
    const page = await chrome.browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });

    // Wait for the HTTP port, then: no token, no page.
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(`http://${http}/healthz`);
        if (r.ok) break;
      } catch {
        if (i > 200) throw new Error(`coordinator did not come up; see ${dir}/coordinator.log`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const refused = await page.goto(`http://${http}/`);
    assert.equal(refused?.status(), 401, "a browser without the token gets 401");
    assert.equal((await fetch(`http://${http}/events`)).status, 401);
    assert.equal((await fetch(`http://${http}/api/state`)).status, 401);
    await page.screenshot({ path: join(out, "dashboard-401.png") });

    const opened = await page.goto(`http://${http}/?token=${TOKEN}`, { waitUntil: "load" });
    assert.equal(opened?.status(), 200);
    assert.equal(new URL(page.url()).search, "", "the token left the address bar");
    await page.waitForSelector("#conn.live", { timeout: 20_000 });

    // Agents register as they start; wait for both rows.
    await page.waitForFunction((n: number) => (globalThis as unknown as PageGlobals).document.querySelectorAll("tr[data-site]").length >= n, { timeout: 120_000 }, sites.length);

    // The test's own observer: every progress width and every R cell, stamped when it lands in the DOM.
    // A string, not a function: tsx would wrap the inner named function in a helper the page lacks.
    await page.evaluate(OBSERVER);

    // The run starts after the page is open: everything it shows from here on came over SSE.
    const admin = createAdminClient(grpcAddress, { insecure: true });
    const run = await admin.createRun({
      name: "dash-browser",
      strategy: "sequential",
      sites,
      options: {},
      seed: 5,
      model: "nano",
      hyperparameters: { lr: 2e-3, text_lr: 2e-4, batch_size: 4, epochs: 1, freeze_stages: 0, grad_clip: 5, weight_decay: 0.05, seed: 5, max_steps: 16 },
    });

    // A progress bar moves: one site shows two different fractions strictly between 0 and 100 %.
    await page.waitForFunction(
      () => {
        const st = (globalThis as unknown as { __stamps: Stamp[] }).__stamps.filter((s) => s.kind === "progress" && (s.progress ?? 0) > 0 && (s.progress ?? 0) < 100);
        return st.some((a) => st.some((b) => a.site === b.site && a.progress !== b.progress));
      },
      { timeout: 180_000, polling: 100 },
    );
    await page.screenshot({ path: join(out, "dashboard-training.png"), fullPage: true });

    // An R cell appears once step 0 is evaluated.
    await page.waitForSelector(`section[data-run="${run.run_id}"] .heatmap g.cell[data-step="0"]`, { timeout: 180_000 });
    await page.screenshot({ path: join(out, "dashboard-mid-run.png"), fullPage: true });
    const final = await admin.waitForRun(run.run_id, { pollMs: 500 });
    assert.equal(final.state, "completed", `run ${final.state}: ${final.error}; logs in ${dir}`);
    await page.waitForSelector(`section[data-run="${run.run_id}"] .heatmap g.cell[data-step="1"]`, { timeout: 20_000 });
    await page.waitForFunction((id: string) => (globalThis as unknown as PageGlobals).document.querySelector(`section[data-run="${id}"] .badge.s-completed`) !== null, { timeout: 20_000 }, run.run_id);
    await page.screenshot({ path: join(out, "dashboard-completed.png"), fullPage: true });
    admin.close();

    const { stamps, marker, lineageRows, cells } = await page.evaluate((id: string) => {
      const g = globalThis as unknown as PageGlobals & { __stamps: Stamp[]; __marker: string };
      const sec = g.document.querySelector(`section[data-run="${id}"]`) as PageElement;
      return { stamps: g.__stamps, marker: g.__marker, lineageRows: sec.querySelectorAll("table.lineage tr").length - 1, cells: sec.querySelectorAll(".heatmap g.cell").length };
    }, run.run_id);
    assert.equal(marker, "no-reload", "the page was never reloaded");
    assert.equal(cells, 2 * 3, "R: 2 steps x 3 eval domains");
    assert.equal(lineageRows, 3, "lineage: base and one version per step");

    // Latency: each DOM change against the publish time of the event that caused it.
    const state = new Database(join(dir, "coord", "coordinator.sqlite"), { readonly: true });
    const rows = state.prepare("SELECT type, payload_json FROM events WHERE type IN ('evaluated', 'site.progress') ORDER BY id").all() as { type: string; payload_json: string }[];
    state.close();
    const payloads = rows.map((r) => JSON.parse(r.payload_json) as { type: string; at: string; siteId?: string; progress?: number; step?: number; runId?: string });
    const latencies: { what: string; ms: number }[] = [];
    for (const s of stamps) {
      if (s.kind === "cell") {
        const ev = payloads.find((p) => p.type === "evaluated" && p.runId === run.run_id && p.step === s.step);
        assert.ok(ev, `evaluated event of step ${s.step}`);
        latencies.push({ what: `R[${s.step}][${s.domain}]`, ms: s.t - Date.parse(ev.at) });
      } else if ((s.progress ?? 0) > 0) {
        // The page shows the fraction to 0.1 %; the first event of that site with that value.
        const ev = payloads.find((p) => p.type === "site.progress" && p.siteId === s.site && ((p.progress ?? 0) * 100).toFixed(1) === (s.progress ?? 0).toFixed(1));
        if (ev) latencies.push({ what: `progress ${s.site} ${s.progress}%`, ms: s.t - Date.parse(ev.at) });
      }
    }
    const cellLat = latencies.filter((l) => l.what.startsWith("R["));
    const progLat = latencies.filter((l) => l.what.startsWith("progress"));
    assert.equal(cellLat.length, 6, "every R cell was matched to its event");
    assert.ok(progLat.length >= 2, `progress changes matched to events: ${progLat.length}`);
    const max = Math.max(...latencies.map((l) => l.ms));
    process.stdout.write(`# SSE latency event -> DOM: R cells max ${Math.max(...cellLat.map((l) => l.ms))} ms, progress max ${Math.max(...progLat.map((l) => l.ms))} ms over ${progLat.length} changes\n`);
    for (const l of latencies) {
      assert.ok(l.ms < 1000, `${l.what} reached the DOM ${l.ms} ms after its event`);
      assert.ok(l.ms > -50, `${l.what}: DOM change ${-l.ms} ms before its event (clock?)`);
    }
    assert.ok(max < 1000);
    await page.close();
  });

  it("dashboard - the audit report of that run, from the coordinator's artifacts, reads at 1400 px with category names", async () => {
    const runDir = join(dir, "coord", "runs", "dash-browser");
    assert.ok(existsSync(join(runDir, "run.json")), `the previous test's run wrote ${runDir}/run.json`);
    const names = JSON.parse(readFileSync(join(runDir, "categories.json"), "utf8")) as Record<string, Record<string, string>>;
    const categoryName = Object.values(Object.values(names)[0])[0];
    assert.ok(categoryName, "categories.json names the eval sets' categories");
    await writeAuditReport(runDir);
    const page = await chrome.browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.goto(pathToFileURL(join(runDir, "report", "report.html")).href, { waitUntil: "load" });
    await page.screenshot({ path: join(testOutputDir("report"), "report-real-run-1400.png"), fullPage: true });
    const layout = await page.evaluate(() => {
      const { document, innerWidth, innerHeight } = globalThis as unknown as PageGlobals;
      const cells = [...document.querySelectorAll("#summary th, #summary td")].map((el) => {
        // DOMRect does not survive serialization out of the page; copy the numbers.
        const b = el.getBoundingClientRect();
        return { text: (el.textContent ?? "").trim(), r: { left: b.left, right: b.right, top: b.top, bottom: b.bottom } };
      });
      return { cells, innerWidth, innerHeight, scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth };
    });
    for (const label of ["name", "strategy", "state", "seed", "model", "sites (2)", "options", "duration", "final version", "lr"]) assert.ok(layout.cells.some((c) => c.text === label), label);
    for (const c of layout.cells) assert.ok(c.r.left >= 0 && c.r.right <= layout.innerWidth && c.r.top >= 0 && c.r.bottom <= layout.innerHeight, `"${c.text}" is inside the viewport`);
    assert.ok(layout.scrollWidth <= layout.clientWidth, "no horizontal scroll");
    const md = readFileSync(join(runDir, "report", "report.md"), "utf8");
    assert.ok(md.includes(`| ${categoryName} |`), `per-category AP names "${categoryName}"`);
    assert.ok(!/\bcat \d|category \d/.test(md), "no numbered categories");
    await page.close();
  });
});
