// The install step (`make install`, which .ci/run and `make test` use): npm must accept the
// project's configuration without warnings (npm 11 warns that an unknown key in .npmrc "will stop
// working in the next major version"), and onnxruntime-node's postinstall must still skip the
// CUDA add-ons it would otherwise fetch on linux/x64 from a host these machines cannot reach.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { describe, it } from "node:test";

const root = new URL("../../", import.meta.url).pathname;

describe("install", () => {
  it("install - npm reads the project's config without a warning", () => {
    const r = spawnSync("npm", ["config", "get", "fund"], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /npm warn/i);
  });

  it("install - make's recipes export the switch with which onnxruntime-node's install script skips the CUDA fetch", () => {
    const { ONNXRUNTIME_NODE_INSTALL: _, npm_config_onnxruntime_node_install: __, ...env } = process.env;
    const r = spawnSync("make", ["-s", "--no-print-directory", "--eval", 'medfcl-print-ort-install: ; @echo "$$ONNXRUNTIME_NODE_INSTALL"', "medfcl-print-ort-install"], { cwd: root, encoding: "utf8", env });
    assert.equal(r.status, 0, r.stderr);
    const value = r.stdout.trim();
    assert.equal(value, "skip");
    // The install script's own parser, so a renamed switch in a later onnxruntime-node fails here.
    const { parseInstallFlag } = createRequire(import.meta.url)("onnxruntime-node/script/install-utils.js") as { parseInstallFlag(): unknown };
    const saved = process.env.ONNXRUNTIME_NODE_INSTALL;
    process.env.ONNXRUNTIME_NODE_INSTALL = value;
    try {
      assert.equal(parseInstallFlag(), false, "false is the script's 'skip installation'");
    } finally {
      if (saved === undefined) delete process.env.ONNXRUNTIME_NODE_INSTALL;
      else process.env.ONNXRUNTIME_NODE_INSTALL = saved;
    }
  });
});
