import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { StateDirLockedError, StateMismatchError } from "../../coordinator/index.js";
import { openBlobStore } from "../../services/store/index.js";
import { startTestCoordinator } from "../helpers/federation.js";
import { SCHEMA_VERSION } from "../../coordinator/store/index.js";
import { runCli, startCoordinatorProcess } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const fresh = (): string => tempDir("medfcl-statedir-");

/** A state dir a coordinator has used: a real database with a run's worth of tables, and one blob. */
async function usedStateDir(): Promise<string> {
  const dir = fresh();
  const coord = await startTestCoordinator({ stateDir: dir });
  coord.ctx.blobs.put(Buffer.from("a model version"));
  await coord.close();
  return dir;
}

describe("coordinator - one owner per state dir", () => {
  it("coordinator - a second coordinator on a live state dir exits 2 naming the holder, and leaves its uploads alone", async () => {
    const dir = fresh();
    const first = await startCoordinatorProcess(dir);
    try {
      // An upload in progress under the first coordinator.
      mkdirSync(join(dir, "blobs", "staging"), { recursive: true });
      writeFileSync(join(dir, "blobs", "staging", "upload-in-flight"), "half a delta");
      const second = await runCli(["coordinator", "--insecure", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--state-dir", dir], {}, 60_000);
      assert.equal(second.code, 2, second.stderr);
      assert.match(second.stderr, new RegExp(`in use by coordinator pid ${first.pid} on host ${hostname()}`));
      assert.ok(existsSync(join(dir, "blobs", "staging", "upload-in-flight")), "the second start did not empty staging/");
      assert.equal(first.proc.exitCode, null, "the first coordinator still runs");
    } finally {
      await first.stop();
    }
  });

  it("coordinator - in one process, a second start on the same state dir is refused until the first closes", async () => {
    const dir = fresh();
    const first = await startTestCoordinator({ stateDir: dir });
    await assert.rejects(startTestCoordinator({ stateDir: dir }), (err) => err instanceof StateDirLockedError && err.message.includes(`pid ${process.pid}`));
    await first.close();
    const again = await startTestCoordinator({ stateDir: dir });
    await again.close();
  });

  it("coordinator - the lock of a SIGKILLed coordinator does not block the next start", async () => {
    const dir = fresh();
    const first = await startCoordinatorProcess(dir);
    await first.stop("SIGKILL");
    const owner = JSON.parse(readFileSync(join(dir, "coordinator.lock"), "utf8")) as { pid: number; host: string };
    assert.deepEqual(owner, { ...owner, pid: first.pid, host: hostname() }, "the owner file still names the dead process");
    const second = await startCoordinatorProcess(dir);
    try {
      assert.match(second.log(), new RegExp(`"pid":${first.pid}.*"dead":true.*taking it over`));
    } finally {
      await second.stop();
    }
  });
});

describe("coordinator - a database that does not match its blob store", () => {
  it("coordinator - a 0-byte database beside a full blob store refuses to start (exit 2) unless --fresh-state", async () => {
    const dir = await usedStateDir();
    writeFileSync(join(dir, "coordinator.sqlite"), "");
    for (const f of ["coordinator.sqlite-wal", "coordinator.sqlite-shm"]) if (existsSync(join(dir, f))) writeFileSync(join(dir, f), "");
    await assert.rejects(startTestCoordinator({ stateDir: dir }), (err) => err instanceof StateMismatchError && /is empty \(0 bytes\), but the blob store holds 1 blobs/.test(err.message));
    const cli = await runCli(["coordinator", "--insecure", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--state-dir", dir]);
    assert.equal(cli.code, 2, cli.stderr);
    assert.match(cli.stderr, /--fresh-state/);
    const coord = await startTestCoordinator({ stateDir: dir }, undefined, { freshState: true });
    await coord.close();
    assert.ok(readdirSync(dir).some((f) => /^coordinator\.sqlite\..*\.bak$/.test(f)), "the old file is kept");
    assert.deepEqual(openBlobStore(join(dir, "blobs")).list().length, 1, "blobs are kept");
  });

  it("coordinator - a truncated database refuses to start", async () => {
    const dir = await usedStateDir();
    const path = join(dir, "coordinator.sqlite");
    const d = new Database(path);
    d.pragma("wal_checkpoint(TRUNCATE)");
    d.close();
    truncateSync(path, 4096 + 100);
    await assert.rejects(startTestCoordinator({ stateDir: dir }), (err) => err instanceof StateMismatchError && /truncated or corrupt/.test(err.message));
  });

  it("coordinator - a database of a newer schema version refuses to start", async () => {
    const dir = await usedStateDir();
    const d = new Database(join(dir, "coordinator.sqlite"));
    d.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    d.close();
    await assert.rejects(startTestCoordinator({ stateDir: dir }), (err) => err instanceof StateMismatchError && new RegExp(`schema version 99; this coordinator knows versions up to ${SCHEMA_VERSION} \\(run a newer coordinator\\)`).test(err.message));
  });

  it("coordinator - a new state dir and a reopened healthy one start", async () => {
    const dir = await usedStateDir();
    const coord = await startTestCoordinator({ stateDir: dir });
    await coord.close();
  });
});
