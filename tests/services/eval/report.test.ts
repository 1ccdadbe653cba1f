import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { continualMetrics, writeAuditReport, type AccuracyMatrix } from "../../../services/eval/index.js";
import { ReportError } from "../../../services/eval/errors.js";
import { tempDir } from "../../helpers/temp.js";

const R: AccuracyMatrix = {
  steps: ["s1", "s2", "s3"],
  domains: ["kvasir", "etis", "cvc", "ood"],
  ap: [
    [70.25, 12.5, 20, 5],
    [41, 68.75, null, 6],
    [30.5, 44, 81.125, 4.5],
  ],
};

function sampleRunDir(): string {
  const dir = tempDir("medfcl-report-");
  const put = (rel: string, v: unknown) => {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), JSON.stringify(v));
  };
  put("R.json", R);
  put("base.json", { kvasir: 3, etis: 2, cvc: 4, ood: 1 });
  put("run.json", { name: "demo <run>", strategy: "sequential", seed: 7 });
  put("per_category.json", { s3: { kvasir: { "1": 30.5 }, etis: { "1": 44 } } });
  put("sequential/R.json", R);
  put("rehearsal/R.json", { ...R, ap: [[70, 10, 20, 5], [65, 69, 30, 6], [60, 62, 80, 5]] });
  put("cross-domain/matrix.json", { train: ["kvasir", "etis"], test: ["kvasir", "etis", "cvc"], ap: [[80, 30, 40], [45, 75, 38]] });
  put("cross-task/matrix.json", { train: ["polyp", "cells"], test: ["polyp", "cells"], ap: [[70, 2], [1, 60]] });
  return dir;
}

/** Reads every heatmap cell back: row, column and the number printed in the cell. */
function parseHeatmapCells(svg: string): { row: number; col: number; text: string }[] {
  const cells: { row: number; col: number; text: string }[] = [];
  const re = /<g class="cell" data-row="(\d+)" data-col="(\d+)"[^>]*>\s*<rect[^>]*\/>\s*<text[^>]*>([^<]*)<\/text>\s*<\/g>/g;
  for (const m of svg.matchAll(re)) cells.push({ row: Number(m[1]), col: Number(m[2]), text: m[3] });
  return cells;
}

describe("report", () => {
  it("report - writes every file for a run with R, paradigms and cross matrices", async () => {
    const dir = sampleRunDir();
    const out = join(dir, "out");
    const { files } = await writeAuditReport(dir, out);
    for (const f of ["report.md", "report.html", "R.json", "R.csv", "metrics.json", "paradigms.json"]) assert.ok(existsSync(join(out, f)), f);
    for (const fig of ["fig-R-heatmap", "fig-ap-curves", "fig-cross-domain", "fig-cross-task", "fig-R-heatmap-rehearsal", "fig-ap-curves-sequential"]) {
      assert.ok(files.includes(join(out, `${fig}.svg`)), `${fig}.svg listed`);
      const png = readFileSync(join(out, `${fig}.png`));
      const meta = await sharp(png).metadata();
      assert.equal(meta.format, "png");
      assert.ok((meta.width ?? 0) > 400 && (meta.height ?? 0) > 200, `${fig}.png is ${meta.width}x${meta.height}`);
    }
    for (const f of files) assert.ok(existsSync(f), f);
    assert.deepEqual(JSON.parse(readFileSync(join(out, "R.json"), "utf8")), R);
    assert.deepEqual(JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")), continualMetrics(R, { kvasir: 3, etis: 2, cvc: 4, ood: 1 }));
    assert.equal(readFileSync(join(out, "R.csv"), "utf8").split("\n")[0], "step,kvasir,etis,cvc,ood");
    const table = JSON.parse(readFileSync(join(out, "paradigms.json"), "utf8"));
    assert.deepEqual(table.rows.map((r: { paradigm: string }) => r.paradigm), ["rehearsal", "sequential"]);
    assert.deepEqual(table.rows[0].ap, [60, 62, 80]);
  });

  it("report - the heatmap SVG shows every cell value of R", async () => {
    const dir = sampleRunDir();
    await writeAuditReport(dir);
    const svg = readFileSync(join(dir, "report", "fig-R-heatmap.svg"), "utf8");
    const cells = parseHeatmapCells(svg);
    assert.equal(cells.length, R.steps.length * R.domains.length);
    for (const c of cells) {
      const v = R.ap[c.row][c.col];
      assert.equal(c.text, v === null ? "n/a" : v.toFixed(1), `cell ${c.row},${c.col}`);
    }
    // Labelled axes and a colour scale.
    assert.match(svg, />evaluated on domain</);
    assert.match(svg, />after training step</);
    assert.match(svg, /class="colorbar"/);
    for (const d of R.domains) assert.ok(svg.includes(`>${d}</text>`), d);
  });

  it("report - the HTML is self-contained and the Markdown has the tables", async () => {
    const dir = sampleRunDir();
    await writeAuditReport(dir);
    const html = readFileSync(join(dir, "report", "report.html"), "utf8");
    assert.ok(!/<img[^>]+src="(?!data:)/.test(html) && !/<link /.test(html) && !/<script/.test(html), "no external resources");
    // 8 figures, plus the sequential and rehearsal heatmaps again side by side in the comparison.
    assert.equal((html.match(/<svg /g) ?? []).length, 10, "figures are inline SVG");
    assert.ok(html.includes("demo &lt;run&gt;"), "run.json metadata escaped");
    const md = readFileSync(join(dir, "report", "report.md"), "utf8");
    assert.match(md, /## Paradigm comparison/);
    assert.match(md, /\| train \\ test \| kvasir \| etis \| cvc \| AVG \|/);
    assert.match(md, /\| kvasir \| 80\.0 \| 30\.0 \| 40\.0 \| 50\.0 \|/, "AVG column is the row mean");
    assert.match(md, /## Per-category AP/);
    assert.match(md, /!\[.*\]\(fig-R-heatmap\.png\)/);
  });

  it("report - sequential beside rehearsal: the header says how much was forgotten and how much replay kept", async () => {
    const dir = sampleRunDir();
    await writeAuditReport(dir);
    const seq = continualMetrics(R);
    const reh = continualMetrics({ ...R, ap: [[70, 10, 20, 5], [65, 69, 30, 6], [60, 62, 80, 5]] });
    const md = readFileSync(join(dir, "report", "report.md"), "utf8");
    const html = readFileSync(join(dir, "report", "report.html"), "utf8");
    const headline = md.split("\n")[2];
    assert.ok(headline.startsWith("> Fine-tuned site after site (sequential)"), `the headline follows the title: ${headline}`);
    assert.ok(headline.includes(`ACC ${seq.acc!.toFixed(1)} with BWT −${Math.abs(seq.bwt!).toFixed(1)}`), headline);
    assert.ok(headline.includes(`+${(reh.acc! - seq.acc!).toFixed(1)} ACC and +${(reh.bwt! - seq.bwt!).toFixed(1)} BWT`), headline);
    // The comparison is the first section, with per-domain forgetting of both runs and both heatmaps side by side.
    assert.match(md, /^# .*\n\n> .*\n\n(## Summary[\s\S]*?)?## Forgetting and its cure: sequential against rehearsal/);
    assert.match(md, /\| domain \| forgetting \(sequential\) \| forgetting \(rehearsal\) \| final AP \(sequential\) \| final AP \(rehearsal\) \|/);
    assert.match(md, new RegExp(`\\| kvasir \\| ${seq.forgetting.per_domain.kvasir!.toFixed(1)} \\| ${reh.forgetting.per_domain.kvasir!.toFixed(1)} \\| 30\\.5 \\| 60\\.0 \\|`));
    assert.match(html, /<p class="headline" id="headline">Fine-tuned site after site/);
    assert.match(html, /<div class="side"><figure><svg [\s\S]*?R — sequential[\s\S]*?<\/figure><figure><svg [\s\S]*?R — rehearsal/);
  });

  it("report - no comparison without both a sequential and a rehearsal run", async () => {
    const dir = sampleRunDir();
    rmSync(join(dir, "rehearsal"), { recursive: true });
    await writeAuditReport(dir);
    const md = readFileSync(join(dir, "report", "report.md"), "utf8");
    assert.doesNotMatch(md, /Forgetting and its cure/);
    assert.doesNotMatch(md, /^> /m);
  });

  it("report - the summary has name, strategy, state, seed, model, sites, options, duration, replay and a hyperparameter table; lineage uses short ids; no raw JSON", async () => {
    const dir = sampleRunDir();
    const v = (c: string) => c.repeat(64);
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({
        run_id: "d31b6736-193a-48cf-9d8c-6abcbae9e8ba",
        name: "rehearsal-seed1",
        strategy: "rehearsal",
        state: "completed",
        seed: 1,
        model: "nano",
        sites: ["site-1-kvasir", "site-2-clinicdb"],
        options: { buffer: "10", sampler: "random" },
        hyperparameters: { lr: 0.002, batchSize: 8, epochs: 1 },
        created_at: "2026-12-02T02:40:57.188Z",
        updated_at: "2026-12-02T02:43:12.719Z",
        base_version: v("a"),
        current_version: v("c"),
        steps: [{ index: 0, domain: "kvasir", sites: ["site-1-kvasir"], version: v("b"), state: "closed", dropouts: ["site-9"] }],
        lineage: [
          { version: v("a"), parent: null, step: -1, strategy: "base", sites: [] },
          { version: v("b"), parent: v("a"), step: 0, strategy: "rehearsal", sites: ["site-1-kvasir"] },
        ],
        rejected_updates: [{ update_id: "u1", site_id: "site-2-clinicdb", task_id: "0f1e2d3c-4b5a-4968-8776-655443322110", reason: "norm 1e9 exceeds the bound 1e4" }],
        replay: { requested: 20, received: 4, received_per_step: { "0": 4, "10": 0, "2": 0 } },
        error: null,
      }),
    );
    await writeAuditReport(dir);
    const md = readFileSync(join(dir, "report", "report.md"), "utf8");
    for (const row of ["| **name** | rehearsal-seed1 |", "| **strategy** | rehearsal |", "| **state** | completed |", "| **seed** | 1 |", "| **model** | nano |",
      "| **sites (2)** | site-1-kvasir, site-2-clinicdb |", "| **options** | buffer=10, sampler=random |", "| **duration** | 2 min 16 s |", "| **final version** | cccccccccccc |"]) {
      assert.ok(md.includes(row), `${row} in the summary`);
    }
    assert.match(md, /### Hyperparameters\n\n\| hyperparameter \| value \|\n\|---\|---\|\n\| lr \| 0\.002 \|\n\| batchSize \| 8 \|\n\| epochs \| 1 \|/);
    assert.match(md, /\| version \| parent \| step \| strategy \| trained at \|\n\|---\|---\|---\|---\|---\|\n\| aaaaaaaaaaaa \| – \| base \| base \| – \|\n\| bbbbbbbbbbbb \| aaaaaaaaaaaa \| 0 \| rehearsal \| site-1-kvasir \|/);
    assert.match(md, /\| 0 \| kvasir \| site-1-kvasir \| closed \| bbbbbbbbbbbb \| site-9 \|/, "steps with dropouts");
    assert.match(md, /\| site-2-clinicdb \| 0f1e2d3c \| norm 1e9 exceeds the bound 1e4 \|/, "rejected updates");
    assert.ok(md.includes("| **replay** | 4 exemplar(s) received of 20 asked for |"), "replay in the summary");
    assert.match(md, /## Replay buffer\n\n.*\n\n\| step \| exemplars received \|\n\|---\|---\|\n\| 0 \| 4 \|\n\| 2 \| 0 \|\n\| 10 \| 0 \|/, "replay per step, in step order");
    assert.ok(!md.includes(v("a")) && !/\{"/.test(md), "no whole version id and no raw JSON in the Markdown");
    const html = readFileSync(join(dir, "report", "report.html"), "utf8");
    assert.ok(html.includes(`<td class="t" title="${v("b")}"><code>bbbbbbbbbbbb</code></td>`), "the whole id on hover");
    assert.ok(html.includes(`<th>duration</th><td class="t">2 min 16 s</td>`));
    assert.ok(existsSync(join(dir, "report", "run.json")), "run.json (whole ids) beside the report");
  });

  it("report - per-category AP names each category from categories.json, one column per step", async () => {
    const dir = sampleRunDir();
    writeFileSync(join(dir, "per_category.json"), JSON.stringify({ base: { cells: { "1": 1 } }, "0": { cells: { "1": 50.25 }, nodule: { "1": 3, "2": 4 } } }));
    writeFileSync(join(dir, "categories.json"), JSON.stringify({ cells: { "1": "cell" }, nodule: { "1": "thyroid nodule" } }));
    await writeAuditReport(dir);
    const md = readFileSync(join(dir, "report", "report.md"), "utf8");
    assert.match(md, /\| domain \| category \| base \| step 0 \|\n\|---\|---\|---\|---\|\n\| cells \| cell \| 1\.0 \| 50\.3 \|\n\| nodule \| thyroid nodule \| – \| 3\.0 \|\n\| nodule \| category 2 \| – \| 4\.0 \|/);
    assert.ok(!/\bcat \d/.test(md), "no \"cat N\" labels");
  });

  it("report - a run dir with nothing to report is a clear NotFound", async () => {
    const dir = tempDir("medfcl-report-empty-");
    await assert.rejects(writeAuditReport(dir), (e: unknown) => e instanceof ReportError && e.code === "NOT_FOUND" && /R\.json/.test(e.message));
  });
});
