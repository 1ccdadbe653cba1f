// Real coordinator processes for tests that kill, restart or measure them (chaos, memory bounds).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const repo = join(import.meta.dirname, "..", "..");

export interface CoordinatorProcess {
  proc: ChildProcess;
  pid: number;
  /** host:port of its gRPC server. */
  address: string;
  /** Everything it wrote to stderr (pino JSON lines). */
  log(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Peak resident set of the process so far, in KiB (VmHWM). */
  peakRssKb(): number;
  /** Current resident set, in KiB (VmRSS). */
  rssKb(): number;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** Runs `medfcl <args>` from source; resolves with its exit code, stdout and stderr. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, opts: { built?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // built: the compiled dist/cli/main.js (make test builds it first), which starts in half the
  // time of tsx: for tests that start the CLI many times.
  const entry = opts.built ? [join(repo, "dist", "cli", "main.js")] : ["--import", "tsx", join(repo, "cli", "main.ts")];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...entry, ...args], { cwd: repo, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    // "close", not "exit": all of stdout and stderr has been read by then.
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts `medfcl coordinator --insecure` on a free port over `stateDir` and waits until it listens.
 * `listen` pins the gRPC address (a restarted coordinator must come back where agents look for it).
 */
export function startCoordinatorProcess(stateDir: string, opts: { listen?: string; args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CoordinatorProcess> {
  const args = ["--import", "tsx", join(repo, "cli", "main.ts"), "coordinator", "--insecure", "--listen", opts.listen ?? "127.0.0.1:0", "--http", "127.0.0.1:0", "--state-dir", stateDir, ...(opts.args ?? [])];
  const proc = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, ...opts.env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const exited = new Promise<number | string>((resolve) => proc.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`coordinator did not start within ${opts.timeoutMs ?? 30_000} ms:\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    proc.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /"grpc":"([^"]+)".*"msg":"coordinator listening"/.exec(stderr);
      if (m && timer) {
        clearTimeout(timer);
        const pid = proc.pid!;
        resolve({
          proc,
          pid,
          address: m[1],
          log: () => stderr,
          exited,
          peakRssKb: () => statusKb(pid, "VmHWM"),
          rssKb: () => statusKb(pid, "VmRSS"),
          stop: (signal = "SIGTERM") => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`coordinator exited with ${code} before listening:\n${stderr}`));
    });
  });
}
