// `medfcl simulate` (and so `medfcl experiment`, which runs it) as a process: a SIGTERM while the
// federation runs stops the agents, the coordinator and nats-server before the command exits,
// instead of leaving them running as orphans.
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;

function childrenOf(pid: number): number[] {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
}

/** Alive and not a zombie (an orphan's zombie waits for init, which may not reap it here). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function until<T>(get: () => T | null, what: string, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("simulate as a process", () => {
  const out = tempDir("medfcl-sim-signal-");
  after(() => rmSync(out, { recursive: true, force: true }));

  it("simulate - SIGTERM stops the agents, the coordinator and nats-server, then the command exits", async () => {
    const p = spawn(process.execPath, ["--import", "tsx", join(root, "cli/main.ts"), "simulate", "--suite", "polyp", "--scale", "tiny", "--sites", "2", "--model", "nano", "--insecure", "--out", join(out, "run")], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => p.on("exit", (code, signal) => resolve({ code, signal })));
    let kids: number[] = [];
    try {
      // The coordinator and both agents (plus nats-server where it is installed).
      kids = await until(() => {
        const k = childrenOf(p.pid!);
        return k.length >= 3 ? k : null;
      }, "the federation's processes to start", 90_000);
      p.kill("SIGTERM");
      const { code, signal } = await exited;
      assert.equal(signal, null, `exits by itself after stopping its children, not by the signal (stderr: ${err.slice(-500)})`);
      assert.equal(code, 128 + 15);
      assert.deepEqual(kids.filter(running), [], "no process of the federation is left running");
    } finally {
      if (p.exitCode === null) p.kill("SIGKILL");
      for (const k of kids.filter(running)) process.kill(k, "SIGKILL");
    }
  });
});
