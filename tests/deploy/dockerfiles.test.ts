// Static checks of deploy/*.Dockerfile and of the build context script; no docker needed.
// The images themselves are built and run in tests/e2e/containers.test.ts.
import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { assembleContext, dropped, productionPackages } from "../../deploy/build-context.mjs";
import { envLeaves } from "../../services/config/index.js";
import { repoRoot } from "../helpers/docker.js";
import { skipUnless } from "../helpers/ci.js";
import { tempDir } from "../helpers/temp.js";

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = "";
    if (!full) continue;
    const m = full.match(/^(\S+)\s*(.*)$/);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2] });
  }
  return out;
}

const dockerfiles = ["coordinator.Dockerfile", "agent.Dockerfile", "agent-cuda.Dockerfile"];
const knownEnv = new Set(envLeaves().map((l) => l.envName));

function read(name: string): Instruction[] {
  return parseDockerfile(readFileSync(join(repoRoot, "deploy", name), "utf8"));
}

/** The instructions of the final stage (after the last FROM). */
function finalStage(ins: Instruction[]): Instruction[] {
  const last = ins.map((i) => i.op).lastIndexOf("FROM");
  return ins.slice(last);
}

describe("deploy dockerfiles", () => {
  for (const name of dockerfiles) {
    it(`dockerfiles - ${name}: base image is a build ARG, non-root USER, exec-form HEALTHCHECK and entry point`, () => {
      const ins = read(name);
      assert.equal(ins[0].op, "ARG", `${name}: the first instruction must declare the base image ARG`);
      assert.equal(ins[0].args, "NODE_IMAGE=node:24-bookworm-slim");
      const froms = ins.filter((i) => i.op === "FROM").map((i) => i.args);
      assert.ok(froms.some((f) => f.startsWith("${NODE_IMAGE}")), `${name}: some stage must be FROM \${NODE_IMAGE}`);
      const last = finalStage(ins);
      const user = last.filter((i) => i.op === "USER").map((i) => i.args);
      assert.equal(user.length, 1, `${name}: exactly one USER in the final stage`);
      assert.equal(user[0], "${MEDFCL_UID}:${MEDFCL_GID}");
      const uid = last.find((i) => i.op === "ARG" && i.args.startsWith("MEDFCL_UID="));
      assert.ok(uid && Number(uid.args.split("=")[1]) > 0, `${name}: MEDFCL_UID must default to a non-root uid`);
      const hc = last.find((i) => i.op === "HEALTHCHECK");
      assert.ok(hc, `${name}: HEALTHCHECK missing`);
      assert.match(hc.args, /CMD \["node"/, `${name}: the healthcheck must be exec form run by node (no curl or shell in minimal images)`);
      const entry = last.find((i) => i.op === "ENTRYPOINT");
      assert.deepEqual(JSON.parse(entry?.args ?? "null"), ["node", "/app/dist/cli/main.js"]);
      assert.ok(last.some((i) => i.op === "VOLUME" && i.args.includes("/state")), `${name}: /state must be a volume`);
      // Only /state is given to the runtime user; code stays root-owned and read-only to it.
      for (const copy of last.filter((i) => i.op === "COPY" && i.args.includes("--chown"))) {
        assert.match(copy.args, /skel\/state\/ \/state\/$/, `${name}: only /state may be chowned: ${copy.args}`);
      }
    });

    it(`dockerfiles - ${name}: every MEDFCL_* variable it sets is a real config key`, () => {
      const envs = read(name)
        .filter((i) => i.op === "ENV")
        .flatMap((i) => i.args.split(/\s+/))
        .map((kv) => kv.split("=")[0])
        .filter((k) => k.startsWith("MEDFCL_"));
      assert.ok(envs.length > 0);
      for (const k of envs) assert.ok(knownEnv.has(k), `${name} sets ${k}, which \`medfcl config env\` does not list`);
    });
  }

  it("dockerfiles - the CPU images add files only (no RUN), so any base with node works, even one without a shell", () => {
    for (const name of ["coordinator.Dockerfile", "agent.Dockerfile"]) {
      const ops = read(name).map((i) => i.op);
      assert.ok(!ops.includes("RUN"), `${name} must not RUN anything`);
      assert.equal(ops.filter((o) => o === "FROM").length, 1);
    }
  });

  it("dockerfiles - coordinator and agent share their first layers (node_modules, package.json, dist)", () => {
    const head = (name: string) =>
      read(name)
        .filter((i) => i.op === "COPY")
        .slice(0, 3)
        .map((i) => i.args);
    assert.deepEqual(head("coordinator.Dockerfile"), head("agent.Dockerfile"));
    assert.equal(head("agent.Dockerfile")[0], "node_modules/ /app/node_modules/");
  });

  it("dockerfiles - the CUDA agent installs tfjs-node-gpu at build time and starts with --backend tensorflow", () => {
    const ins = read("agent-cuda.Dockerfile");
    assert.ok(ins.some((i) => i.op === "ARG" && i.args.startsWith("CUDA_IMAGE=nvidia/cuda:")));
    assert.ok(ins.some((i) => i.op === "RUN" && i.args.includes("@tensorflow/tfjs-node-gpu@")));
    const last = finalStage(ins);
    assert.equal(last[0].args, "${CUDA_IMAGE}");
    assert.ok(!last.some((i) => i.op === "RUN"), "the final CUDA stage carries no build step (no npm, no compiler)");
    assert.deepEqual(JSON.parse(last.find((i) => i.op === "CMD")?.args ?? "null"), ["agent", "--backend", "tensorflow"]);
  });
});

describe("deploy build context", () => {
  const tmp = tempDir("medfcl-context-");
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("build context - production packages come from the lockfile; dev-only ones are left out", () => {
    const lock = {
      packages: {
        "": {},
        "node_modules/a": {},
        "node_modules/a/node_modules/b": {},
        "node_modules/tsx": { dev: true },
        "node_modules/c/node_modules/d": { dev: true },
        "node_modules/c": {},
        "node_modules/linked": { link: true },
      },
    };
    const { roots, devNested } = productionPackages(lock);
    assert.deepEqual(roots, ["node_modules/a", "node_modules/c"]);
    assert.deepEqual(devNested, ["node_modules/tsx", "node_modules/c/node_modules/d"]);
  });

  it("build context - pruning drops maps, types, other platforms' binaries and build leftovers only", () => {
    const other = process.platform === "linux" ? "win32" : "linux";
    const cases: Array<[string, boolean]> = [
      ["node_modules/x/index.js.map", true],
      ["node_modules/x/index.d.ts", true],
      ["node_modules/@types/node/index.js", true],
      [`node_modules/onnxruntime-node/bin/napi-v6/${other}/x64/onnxruntime_binding.node`, true],
      [`node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`, false],
      [`node_modules/onnxruntime-node/bin/napi-v6/${process.platform}`, false],
      ["node_modules/better-sqlite3/build/Release/better_sqlite3.node", false],
      ["node_modules/better-sqlite3/build/Release/obj.target/better_sqlite3.node", true],
      ["node_modules/better-sqlite3/deps/sqlite3/sqlite3.c", true],
      ["node_modules/better-sqlite3/lib/database.js", false],
      ["node_modules/@tensorflow/tfjs/dist/tf.min.js", true],
      ["node_modules/@tensorflow/tfjs/dist/tf.node.js", false],
      ["node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm", false],
      ["node_modules/@tensorflow/tfjs-core/dist/ops/add.js", false],
      ["node_modules/@tensorflow/tfjs-converter/dist/miniprogram/index.js", true],
      ["node_modules/sharp/lib/index.js", false],
    ];
    for (const [path, expected] of cases) assert.equal(dropped(path), expected, path);
  });

  const distMissing = existsSync(join(repoRoot, "dist", "cli", "main.js")) ? false : "dist/ is not built (npm run build; make test builds first)";
  it("build context - the assembled folder has dist, a slim package.json, runtime packages and no dev packages", { skip: skipUnless("the build-context test", distMissing) }, () => {
    const out = join(tmp, "ctx");
    const stats = assembleContext({ out });
    assert.ok(stats.files > 0);
    assert.ok(existsSync(join(out, "dist", "cli", "main.js")));
    for (const f of dockerfiles) assert.ok(existsSync(join(out, f)), `${f} is copied into the context`);
    for (const d of ["state", "data", "certs", "config", "eval"]) assert.deepEqual(readdirSync(join(out, "skel", d)), []);
    const pkg = JSON.parse(readFileSync(join(out, "package.json"), "utf8")) as Record<string, unknown>;
    assert.equal(pkg.devDependencies, undefined);
    assert.equal(pkg.scripts, undefined);
    const rootPkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const dep of Object.keys(rootPkg.dependencies)) assert.ok(existsSync(join(out, "node_modules", dep, "package.json")), `runtime dependency ${dep} is missing`);
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.keys(rootPkg.devDependencies).filter((dep) => lock.packages[`node_modules/${dep}`]?.dev);
    assert.ok(devOnly.includes("typescript") && devOnly.includes("testcontainers"));
    for (const dep of devOnly) assert.ok(!existsSync(join(out, "node_modules", dep)), `dev dependency ${dep} must not be in the image`);
    assert.ok(existsSync(join(out, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node")));
    assert.ok(!existsSync(join(out, "node_modules", "better-sqlite3", "deps")));
    assert.ok(!existsSync(join(out, "node_modules", ".bin")));
  });
});
