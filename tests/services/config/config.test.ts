import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, envLeaves, loadConfig } from "../../../services/config/index.js";
import { tempDir } from "../../helpers/temp.js";

const tsx = ["--import", "tsx", "cli/main.ts"];

describe("config", () => {
  it("config - defaults validate", () => {
    const cfg = loadConfig({ env: {} });
    assert.equal(cfg.agent.backend, "wasm");
    assert.equal(cfg.coordinator.insecure, false);
  });

  it("config - file, then env, then flags; later wins", () => {
    const dir = tempDir("medfcl-cfg-");
    const file = join(dir, "c.yaml");
    writeFileSync(file, "agent:\n  siteId: site-a\n  backend: cpu\ncoordinator:\n  taskDeadlineMs: 1000\n");
    const cfg = loadConfig({
      file,
      env: { MEDFCL_AGENT_BACKEND: "wasm", MEDFCL_COORDINATOR_TASK_DEADLINE_MS: "2000" },
      overrides: { coordinator: { taskDeadlineMs: 3000 } },
    });
    assert.equal(cfg.agent.siteId, "site-a");
    assert.equal(cfg.agent.backend, "wasm");
    assert.equal(cfg.coordinator.taskDeadlineMs, 3000);
  });

  it("config - every env leaf has a unique MEDFCL_ name", () => {
    const names = envLeaves().map((l) => l.envName);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes("MEDFCL_AGENT_SITE_ID"));
    assert.ok(names.includes("MEDFCL_AGENT_PRIVACY_DP_NOISE_MULTIPLIER"));
  });

  it("config - the agent's training engine keys default to ort on cpu and take env values", () => {
    const d = loadConfig({ env: {} }).agent;
    assert.equal(d.trainEngine, "ort");
    assert.equal(d.executionProvider, "cpu");
    assert.equal(d.trainThreads, undefined);
    const cfg = loadConfig({ env: { MEDFCL_AGENT_TRAIN_ENGINE: "tfjs", MEDFCL_AGENT_TRAIN_THREADS: "2", MEDFCL_AGENT_EXECUTION_PROVIDER: "cuda" } }).agent;
    assert.deepEqual([cfg.trainEngine, cfg.trainThreads, cfg.executionProvider], ["tfjs", 2, "cuda"]);
    assert.throws(
      () => loadConfig({ env: { MEDFCL_AGENT_TRAIN_ENGINE: "torch" } }),
      (err: unknown) => err instanceof ConfigError && err.key === "agent.trainEngine",
    );
  });

  it("config - an invalid value names its key", () => {
    assert.throws(
      () => loadConfig({ env: { MEDFCL_AGENT_BACKEND: "gpu" } }),
      (err: unknown) => err instanceof ConfigError && err.key === "agent.backend",
    );
  });

  it("config - the exemplar pipeline options live under agent.privacy and are checked like any key", () => {
    const dir = tempDir("medfcl-cfg-");
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ agent: { privacy: { exemplarPipeline: { roiCrop: true, overlayRegions: [{ x: 0, y: 0, w: 0.2, h: 0.1, label: "inset" }] } } } }));
    const cfg = loadConfig({ file, env: { MEDFCL_AGENT_PRIVACY_EXEMPLAR_PIPELINE_FORMAT: "jpeg" } });
    assert.deepEqual(cfg.agent.privacy.exemplarPipeline, { roiCrop: true, overlayRegions: [{ x: 0, y: 0, w: 0.2, h: 0.1, label: "inset" }], format: "jpeg" });
    assert.deepEqual(loadConfig({ env: {} }).agent.privacy.exemplarPipeline, {}, "unset: the pipeline's defaults apply");
    assert.throws(
      () => loadConfig({ env: { MEDFCL_AGENT_PRIVACY_EXEMPLAR_PIPELINE_FORMAT: "gif" } }),
      (err: unknown) => err instanceof ConfigError && err.key === "agent.privacy.exemplarPipeline.format",
    );
    writeFileSync(file, JSON.stringify({ agent: { privacy: { exemplarPipeline: { roiCrp: true } } } }));
    assert.throws(() => loadConfig({ file }), (err: unknown) => err instanceof ConfigError && err.key === "agent.privacy.exemplarPipeline.roiCrp");
  });

  it("config - an unknown key in the file is named", () => {
    const dir = tempDir("medfcl-cfg-");
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ agent: { sitId: "x" } }));
    assert.throws(
      () => loadConfig({ file }),
      (err: unknown) => err instanceof ConfigError && err.key === "agent.sitId",
    );
  });

  it("config - the CLI exits 2 and names the bad key", () => {
    const dir = tempDir("medfcl-cfg-");
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ coordinator: { heartbeatIntervalMs: -5 } }));
    const r = spawnSync(process.execPath, [...tsx, "--config", file, "config", "check"], { encoding: "utf8" });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /coordinator\.heartbeatIntervalMs/);
  });
});
