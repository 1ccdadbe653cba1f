// The audit report opened in a real Chromium at 1400 px: every summary value is inside the viewport
// and the page has no horizontal scroll, with the long values a real run has (64-hex version ids,
// eight domains, long site names, an error message). Screenshots go to test-output/report/.
import { strict as assert } from "node:assert";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { writeAuditReport } from "../../../services/eval/index.js";
import { browserSkipReason, launchChromium, testOutputDir, type LaunchedBrowser, type PageGlobals } from "../../helpers/browser.js";
import { tempDir } from "../../helpers/temp.js";

const WIDTH = 1400;
const HEIGHT = 900;

function longRunDir(): string {
  const dir = tempDir("medfcl-report-browser-");
  const put = (rel: string, v: unknown) => {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), JSON.stringify(v));
  };
  const domains = ["kvasir", "clinicdb", "bkai-igh-neopolyp", "sessile-main-kvasir", "singan-synthetic", "cvc300", "colondb", "etis-laribpolypdb"];
  const hex = (i: number) => Array.from({ length: 64 }, (_, k) => ((i * 7 + k) % 16).toString(16)).join("");
  const sites = domains.slice(0, 5).map((d, i) => `site-${i + 1}-${d}-university-hospital`);
  put("R.json", { steps: domains.slice(0, 5), domains, ap: domains.slice(0, 5).map((_, i) => domains.map((__, j) => (j <= i ? 60 - 5 * (i - j) : 10 + j))) });
  put("base.json", Object.fromEntries(domains.map((d) => [d, 1])));
  put("categories.json", Object.fromEntries(domains.map((d) => [d, { "1": "pink yellow red color oval bump" }])));
  put("per_category.json", Object.fromEntries(["base", "0", "1", "2", "3", "4"].map((s) => [s, Object.fromEntries(domains.map((d) => [d, { "1": 12.5 }]))])));
  put("run.json", {
    run_id: "d31b6736-193a-48cf-9d8c-6abcbae9e8ba",
    name: "rehearsal-class-balanced-seed17-mx5iqt3a",
    strategy: "rehearsal",
    state: "failed",
    seed: 17,
    model: "nano",
    sites,
    options: { buffer: "100", sampler: "class-balanced", mix: "0.3", shots: "100", exemplar_max_side: "512" },
    hyperparameters: { lr: 0.002, textLr: 0.0002, weightDecay: 0.05, batchSize: 8, epochs: 3, freezeStages: 2, gradClip: 5, seed: 17, replayRatio: 0.3, maxSteps: 0, inputSize: 256 },
    created_at: "2026-12-02T01:00:00.000Z",
    updated_at: "2026-12-02T02:03:05.000Z",
    base_version: hex(0),
    current_version: hex(5),
    steps: sites.map((s, i) => ({ index: i, domain: domains[i], sites: [s], version: hex(i + 1), state: "closed", dropouts: i === 2 ? [sites[3]] : [] })),
    lineage: [{ version: hex(0), parent: null, step: -1, strategy: "base", sites: [] }, ...sites.map((s, i) => ({ version: hex(i + 1), parent: hex(i), step: i, strategy: "rehearsal", sites: [s] }))],
    rejected_updates: [{ update_id: "u1", site_id: sites[1], task_id: "0f1e2d3c-4b5a-4968-8776-655443322110", reason: `update norm 1.2e9 exceeds coordinator.updateNormBound 1e4; ${"x".repeat(200)}` }],
    error: `step 4 failed: ${"site-5 missed its deadline and the dropout policy is fail; ".repeat(4)}`,
  });
  return dir;
}

describe("report in a browser", { skip: browserSkipReason(), timeout: 120_000 }, () => {
  let chrome: LaunchedBrowser;
  before(async () => {
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
  });

  it("report - at 1400 px every summary value is inside the viewport and nothing scrolls sideways", async () => {
    const dir = longRunDir();
    await writeAuditReport(dir);
    const page = await chrome.browser.newPage();
    await page.setViewport({ width: WIDTH, height: HEIGHT });
    await page.goto(pathToFileURL(join(dir, "report", "report.html")).href, { waitUntil: "load" });
    const out = testOutputDir("report");
    await page.screenshot({ path: join(out, "report-1400.png") });
    await page.screenshot({ path: join(out, "report-1400-full.png"), fullPage: true });
    process.stdout.write(`# report screenshots: ${out}\n`);

    const layout = await page.evaluate(() => {
      const { document, innerWidth, innerHeight } = globalThis as unknown as PageGlobals;
      const cells = [...document.querySelectorAll("#summary th, #summary td")].map((el) => {
        const r = el.getBoundingClientRect();
        return { text: (el.textContent ?? "").trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width };
      });
      return { cells, scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, innerWidth, innerHeight };
    });
    assert.ok(layout.cells.length >= 2 * 14, `summary cells found: ${layout.cells.length}`);
    for (const label of ["name", "strategy", "state", "seed", "model", "sites (5)", "options", "duration", "lr", "inputSize", "error"]) {
      assert.ok(layout.cells.some((c) => c.text === label), `summary shows "${label}"`);
    }
    assert.ok(layout.cells.some((c) => c.text === "1 h 3 min"), "duration value");
    for (const c of layout.cells) {
      assert.ok(c.text.length > 0 && c.width > 0, `"${c.text}" is rendered`);
      assert.ok(c.left >= 0 && c.right <= layout.innerWidth, `"${c.text.slice(0, 40)}" spans x ${c.left.toFixed(0)}..${c.right.toFixed(0)}, outside 0..${layout.innerWidth}`);
      assert.ok(c.top >= 0 && c.bottom <= layout.innerHeight, `"${c.text.slice(0, 40)}" spans y ${c.top.toFixed(0)}..${c.bottom.toFixed(0)}, outside 0..${layout.innerHeight}`);
    }
    assert.ok(layout.scrollWidth <= layout.clientWidth, `no horizontal scroll: scrollWidth ${layout.scrollWidth} > clientWidth ${layout.clientWidth}`);
    await page.close();
  });
});
