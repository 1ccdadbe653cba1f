// A small tmpfs for tests of full disks and read-only filesystems. Mounting needs root (CI runs as
// root): where it cannot mount, tmpfsSkipReason() says why, and under CI=true the tests fail.
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { skipUnless } from "./ci.js";
import { tempDir } from "./temp.js";

export interface SmallFs {
  /** The mount point. */
  dir: string;
  /** Bytes a non-root writer may still use (statfs f_bavail × f_bsize). */
  freeBytes(): number;
  /** Fills the filesystem with a filler file until at most `leaveBytes` (rounded to pages) are free. */
  fill(leaveBytes: number): void;
  /** Removes the filler: the space is back. */
  unfill(): void;
  /**
   * Makes `path` (a folder on this filesystem) read-only under a running process: a read-only bind
   * mount of it on itself. A remount of the whole filesystem cannot do that (the kernel refuses it,
   * EBUSY, while a file is open for writing, and a coordinator keeps its database open): files
   * already open stay writable, every new file or rename fails with EROFS. Returns the undo.
   */
  readOnly(path: string): () => void;
  /** Unmounts and removes the mount point (idempotent). */
  close(): void;
}

function mount(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync("mount", args, { encoding: "utf8" });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || `exit ${r.status}`).trim() };
}

let probed: string | false | undefined;

/**
 * For `describe(name, { skip: tmpfsSkipReason() })`: false when a tmpfs can be mounted here, a
 * skip message when not (not root, no mount(8)). Under CI=true (or MEDFCL_REQUIRE_TMPFS=1) the
 * tests cannot be skipped: tests/helpers/ci.ts registers a failing "required here" test instead.
 */
export function tmpfsSkipReason(): string | false {
  if (probed === undefined) {
    const dir = tempDir("medfcl-tmpfs-probe-");
    const r = mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    if (r.ok) spawnSync("umount", [dir]);
    rmSync(dir, { recursive: true, force: true });
    probed = r.ok ? false : `cannot mount a tmpfs here (${r.err}); run as root (CI does)`;
  }
  return skipUnless("the disk-fault tests (a small tmpfs)", probed, "MEDFCL_REQUIRE_TMPFS");
}

/** Mounts a tmpfs of `sizeBytes` on a fresh temp dir. */
export function mountTmpfs(sizeBytes: number): SmallFs {
  const dir = tempDir("medfcl-tmpfs-");
  const r = mount(["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", dir]);
  if (!r.ok) throw new Error(`mount -t tmpfs on ${dir}: ${r.err}`);
  const filler = join(dir, ".filler");
  let mounted = true;
  const fs: SmallFs = {
    dir,
    freeBytes() {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    fill(leaveBytes) {
      const fd = openSync(filler, "a");
      try {
        const chunk = Buffer.alloc(1 << 20);
        for (;;) {
          const want = fs.freeBytes() - leaveBytes;
          if (want <= 0) break;
          try {
            writeSync(fd, chunk, 0, Math.min(chunk.length, want));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
            throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    unfill() {
      rmSync(filler, { force: true });
    },
    readOnly(path) {
      // Bind, then flag the new mount read-only. Should a file be opened for writing through the new
      // mount in between (EBUSY), the bind is undone and tried again.
      for (let attempt = 1; ; attempt++) {
        const bind = mount(["--bind", path, path]);
        if (!bind.ok) throw new Error(`mount --bind ${path}: ${bind.err}`);
        const ro = mount(["-o", "remount,bind,ro", path]);
        if (ro.ok) break;
        spawnSync("umount", ["-l", path]);
        if (attempt >= 10) throw new Error(`remount,bind,ro ${path}: ${ro.err}`);
      }
      let undone = false;
      return () => {
        if (undone) return;
        undone = true;
        // Lazy: a reader may hold a file open through the bind; new opens see the writable folder.
        const r = spawnSync("umount", ["-l", path], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`umount ${path}: ${(r.stderr || r.error?.message || "").trim()}`);
      };
    },
    close() {
      if (!mounted) return;
      mounted = false;
      spawnSync("umount", ["-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  mkdirSync(dir, { recursive: true });
  return fs;
}
