// A real nats-server for integration tests: JetStream on, loopback only, a free port, a temp store.
import { spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { required, skipUnless } from "./ci.js";
import { tempDir } from "./temp.js";

export interface NatsServerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

let available: boolean | undefined;

/** True when `nats-server` runs on this machine. */
export function natsAvailable(): boolean {
  available ??= spawnSync("nats-server", ["--version"], { stdio: "ignore" }).status === 0;
  return available;
}

/**
 * For `describe(name, { skip: natsSkipReason() })`: false when nats-server is there; a message
 * when it is not. Under CI (or with MEDFCL_REQUIRE_NATS=1) a missing server is an error, not a skip.
 */
export function natsSkipReason(): string | false {
  return skipUnless("the NATS integration tests", natsAvailable() ? false : "nats-server is not on PATH; install it (apt-get install -y nats-server)", "MEDFCL_REQUIRE_NATS");
}

/** Binds port 0 and closes it again; the port is free for the moment after. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: "127.0.0.1", port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

export interface StartNatsOptions {
  /** JetStream store directory; when given, the caller owns it and `stop()` leaves it (to restart on it). */
  storeDir?: string;
}

/** Starts `nats-server -js` and resolves once it accepts connections and says it is ready. */
export async function startNatsServer(options: StartNatsOptions = {}): Promise<NatsServerHandle> {
  if (!natsAvailable()) {
    throw new Error(required("MEDFCL_REQUIRE_NATS") ? "nats-server is not on PATH (CI/MEDFCL_REQUIRE_NATS set)" : "nats-server is not on PATH; guard the test with natsSkipReason()");
  }
  const storeDir = options.storeDir ?? tempDir("medfcl-nats-");
  const port = await freePort();
  const child = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  let ready = false;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    if (log.length < 64 * 1024) log += chunk;
    if (chunk.includes("Server is ready")) ready = true;
  });
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => child.once("exit", (code) => ((exited = code), resolve())));

  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exit;
      clearTimeout(timer);
    }
    if (!options.storeDir) rmSync(storeDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  while (!(ready && (await canConnect(port)))) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`nats-server exited with ${exited} before it was ready (port ${port}):\n${log}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server did not become ready on port ${port} within 15 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, port, stop };
}
