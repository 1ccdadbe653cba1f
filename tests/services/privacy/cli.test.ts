import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { auditLogPath, runExemplarPipeline } from "../../../services/privacy/index.js";
import { privacyConfig, SECRET, tempDir, writePng } from "./fixtures.js";

const root = new URL("../../../", import.meta.url).pathname;

function medfcl(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, MEDFCL_LOG_LEVEL: "silent", ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("privacy cli", () => {
  it("privacy cli - verify-log names the first broken entry and check writes exactly what would leave, and leaves no throw-away state behind", async () => {
    const dir = tempDir();
    const files = await Promise.all([0, 1, 2].map((i) => writePng(join(dir, `c${i}.png`), 64, 48, 700 + i * 13)));
    await runExemplarPipeline(
      files.map((f, i) => ({ recordId: `r${i}`, imagePath: f, shareable: true, boxes: [], width: 64, height: 48 })),
      { site: "site-a", config: privacyConfig({ dedupeHamming: 0 }), siteSecret: SECRET, stateDir: dir },
    );
    const log = auditLogPath(dir, "site-a");
    const lines = readFileSync(log, "utf8").split("\n");
    // One byte: a digit of the third entry's width.
    lines[2] = lines[2].replace('"width":64', '"width":65');
    writeFileSync(log, lines.join("\n"));

    const junk = join(dir, "junk.png");
    writeFileSync(junk, "not an image");
    const out = join(dir, "out");
    const tmp = tempDir("medfcl-privacy-tmp-");
    // No --state-dir: the check makes its own state folder under TMPDIR and must remove it.
    const check = medfcl(["privacy", "check", files[0], junk, "--out", out], { TMPDIR: tmp });
    assert.equal(check.code, 0, check.stderr);
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith("medfcl-privacy-check-")), []);
    assert.match(check.stdout, /1 of 2 file\(s\) would leave/);
    assert.match(check.stdout, /STAYS .*junk\.png: \[metadata\]/);
    const written = readdirSync(out).sort();
    assert.equal(written.length, 2);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { files: { status: string; file?: string; sha256?: string }[] };
    const leaving = manifest.files.filter((f) => f.status === "would-export");
    assert.deepEqual(written.filter((f) => f !== "manifest.json"), leaving.map((f) => f.file));
    assert.equal(leaving[0].file, `${leaving[0].sha256}.png`);

    const v = medfcl(["privacy", "verify-log", log]);
    assert.equal(v.code, 1);
    assert.match(v.stdout, /BROKEN .*entry 3 of 3/);
  });
});
