// deploy/compose.yaml and compose.site.yaml: validated by docker compose itself where it is installed
// (`docker compose config` or the older `docker-compose config`), and always by structural checks of
// the trust boundary: each agent is alone with the coordinator and NATS on an internal network.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { envLeaves } from "../../services/config/index.js";
import { skipUnless } from "../helpers/ci.js";
import { repoRoot } from "../helpers/docker.js";

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
  read_only?: boolean;
  cap_drop?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  networks?: Record<string, { internal?: boolean } | null>;
  volumes?: Record<string, unknown>;
}

const deployDir = join(repoRoot, "deploy");
const siteEnv = { MEDFCL_SITE_ID: "st-marys", MEDFCL_COORDINATOR_ADDR: "fl.example.org:7443" };

function load(name: string): ComposeFile {
  return parse(readFileSync(join(deployDir, name), "utf8"), { merge: true }) as ComposeFile;
}

function networksOf(s: Service): string[] {
  if (!s.networks) return ["default"];
  return Array.isArray(s.networks) ? s.networks : Object.keys(s.networks);
}

/** The compose CLI available here: the v2 plugin, the v1 python tool, or none. */
function composeCli(): string[] | undefined {
  const v2 = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
  if (v2.status === 0) return ["docker", "compose"];
  const v1 = spawnSync("docker-compose", ["version"], { encoding: "utf8" });
  if (v1.status === 0) return ["docker-compose"];
  return undefined;
}

const cli = composeCli();
const cliSkip = skipUnless("`compose config`", cli ? false : "neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose); the structural checks below still run", "MEDFCL_REQUIRE_DOCKER");

describe("deploy compose", () => {
  for (const file of ["compose.yaml", "compose.site.yaml"]) {
    it(`compose - ${file} passes \`compose config\``, { skip: cliSkip }, () => {
      assert.ok(cli);
      const r = spawnSync(cli[0], [...cli.slice(1), "-f", file, "config", "-q"], { cwd: deployDir, encoding: "utf8", env: { ...process.env, ...siteEnv } });
      assert.equal(r.status, 0, `${cli.join(" ")} -f ${file} config failed:\n${r.stderr}${r.stdout}`);
    });
  }

  it("compose - compose.site.yaml refuses to start without a site id and coordinator address", { skip: cliSkip }, () => {
    assert.ok(cli);
    const env = { ...process.env };
    delete env.MEDFCL_SITE_ID;
    delete env.MEDFCL_COORDINATOR_ADDR;
    const r = spawnSync(cli[0], [...cli.slice(1), "-f", "compose.site.yaml", "config", "-q"], { cwd: deployDir, encoding: "utf8", env });
    assert.notEqual(r.status, 0);
    assert.match(`${r.stderr}${r.stdout}`, /MEDFCL_SITE_ID/);
  });

  it("compose - three agents, each alone with the coordinator and NATS on its own internal network", () => {
    const c = load("compose.yaml");
    const agents = Object.keys(c.services).filter((n) => n.startsWith("agent-"));
    assert.deepEqual(agents.sort(), ["agent-a", "agent-b", "agent-c"]);
    const seen = { data: new Set<string>(), certs: new Set<string>(), state: new Set<string>(), site: new Set<string>(), net: new Set<string>() };
    for (const name of agents) {
      const s = c.services[name];
      const nets = networksOf(s);
      assert.equal(nets.length, 1, `${name} must be on exactly one network, got ${nets.join(", ")}`);
      const net = nets[0];
      assert.equal(c.networks?.[net]?.internal, true, `${name}'s network ${net} must be internal`);
      const members = Object.entries(c.services)
        .filter(([, other]) => networksOf(other).includes(net))
        .map(([n]) => n)
        .sort();
      assert.deepEqual(members, [name, "coordinator", "nats"].sort(), `network ${net} holds ${members.join(", ")}`);
      assert.equal(s.ports, undefined, `${name} must publish no port`);
      assert.equal(s.read_only, true);
      assert.deepEqual(s.cap_drop, ["ALL"]);
      const vols = s.volumes ?? [];
      const data = vols.find((v) => v.split(":")[1] === "/data");
      const certs = vols.find((v) => v.split(":")[1] === "/certs");
      const state = vols.find((v) => v.split(":")[1] === "/state");
      assert.ok(data?.endsWith(":ro"), `${name}: /data must be mounted read-only`);
      assert.ok(certs?.endsWith(":ro"), `${name}: /certs must be mounted read-only`);
      assert.ok(state, `${name}: /state must be mounted`);
      assert.ok(data && certs);
      for (const [key, v] of [["data", data], ["certs", certs], ["state", state]] as const) {
        const src = v.split(":")[0];
        assert.ok(!seen[key].has(src), `${name} shares its ${key} source ${src} with another agent`);
        seen[key].add(src);
      }
      const site = s.environment?.MEDFCL_AGENT_SITE_ID;
      assert.ok(site && !seen.site.has(site), `${name}: MEDFCL_AGENT_SITE_ID must be set and unique`);
      seen.site.add(site);
      seen.net.add(net);
      assert.equal(s.environment?.MEDFCL_AGENT_COORDINATOR, "coordinator:7443");
    }
    const coordinatorNets = networksOf(c.services.coordinator);
    for (const net of seen.net) assert.ok(coordinatorNets.includes(net));
  });

  it("compose - NATS runs JetStream; the coordinator publishes gRPC and keeps HTTP on loopback", () => {
    const c = load("compose.yaml");
    assert.ok(c.services.nats.command?.includes("-js"), "NATS must run with -js");
    assert.equal(c.services.coordinator.environment?.MEDFCL_COORDINATOR_NATS, "nats://nats:4222");
    const ports = c.services.coordinator.ports ?? [];
    assert.ok(ports.includes("7443:7443"));
    assert.ok(ports.includes("127.0.0.1:8080:8080"), "the dashboard and /metrics must not be published to every interface");
    assert.ok(c.services.coordinator.volumes?.some((v) => v.startsWith("./certs/coordinator:/certs:ro")));
  });

  it("compose - an eval worker on the central network only, on the coordinator's NATS and test sets, with a read-only evaluator certificate and data", () => {
    const c = load("compose.yaml");
    const w = c.services["eval-worker"];
    assert.ok(w, "an eval-worker service");
    assert.deepEqual(networksOf(w), ["edge"], "never on a site's network");
    const cmd = w.command ?? [];
    assert.equal(cmd[0], "eval-worker");
    assert.equal(cmd[cmd.indexOf("--nats") + 1], "nats://nats:4222");
    assert.equal(cmd[cmd.indexOf("--coordinator") + 1], "coordinator:7443");
    // The evaluator role may fetch model versions and nothing else; an admin certificate could create runs.
    assert.deepEqual([cmd[cmd.indexOf("--tls-cert") + 1], cmd[cmd.indexOf("--tls-key") + 1]], ["/certs/evaluator.crt", "/certs/evaluator.key"]);
    assert.equal(w.environment?.MEDFCL_COORDINATOR_EVAL_SETS, c.services.coordinator.environment?.MEDFCL_COORDINATOR_EVAL_SETS, "the coordinator's test sets");
    assert.ok(w.volumes?.includes("./eval:/eval:ro") && w.volumes?.includes("./certs/eval-worker:/certs:ro"));
    assert.equal(w.ports, undefined);
    assert.equal(w.read_only, true);
  });

  it("compose - every MEDFCL_* variable in both files is a real config key", () => {
    const known = new Set(envLeaves().map((l) => l.envName));
    for (const file of ["compose.yaml", "compose.site.yaml"]) {
      for (const [name, s] of Object.entries(load(file).services)) {
        for (const key of Object.keys(s.environment ?? {})) {
          if (key.startsWith("MEDFCL_")) assert.ok(known.has(key), `${file} ${name}: ${key} is not a medfcl config variable`);
        }
      }
    }
  });

  it("compose - the single-site file runs one agent with no published port and read-only data", () => {
    const c = load("compose.site.yaml");
    assert.deepEqual(Object.keys(c.services), ["agent"]);
    const a = c.services.agent;
    assert.equal(a.ports, undefined);
    assert.ok(a.volumes?.includes("./data:/data:ro"));
    assert.ok(a.volumes?.includes("./certs:/certs:ro"));
  });
});
