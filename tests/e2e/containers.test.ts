// Containerised end-to-end test: the real deploy/*.Dockerfile images, built on a local base image
// (no registry here), started through testcontainers on docker networks that mirror
// deploy/compose.yaml: an `edge` network for the coordinator and NATS, and one internal network per
// site that holds that site's agent plus the coordinator and NATS. Internal networks have no gateway,
// so isolation holds by construction even when dockerd runs with --iptables=false.
//
// Needs a docker daemon. Without one it skips, unless MEDFCL_REQUIRE_DOCKER=1 (CI), where it fails.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type Dockerode from "dockerode";
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { type ContainerRuntimeClient, GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import {
  buildAllImages,
  dockerRequired,
  dockerSkip,
  enforceInternalNetwork,
  images,
  inspectImage,
  NetworkedContainer,
  requireDocker,
} from "../helpers/docker.js";

const skip = await dockerSkip();

/** Exec-form snippets: the images have no shell, so every probe is a node one-liner. */
const tcpServer = (port: number) =>
  `require('net').createServer(s=>{s.on('error',()=>{});s.end('hi')}).listen(${port},()=>console.log('listening ${port}'));setInterval(()=>{},1<<30)`;
/** Prints "open", or why not: a DNS error code, "dns-timeout", a connect error code, or "timeout". */
const tcpProbe =
  "const [h,p]=process.argv.slice(1);const t=setTimeout(()=>{console.log('dns-timeout');process.exit(5)},4000);" +
  "require('dns').lookup(h,(err,addr)=>{clearTimeout(t);if(err){console.log(err.code);process.exit(4)}" +
  "const s=require('net').connect({host:addr,port:+p,timeout:3000});" +
  "s.on('connect',()=>{console.log('open');process.exit(0)});s.on('timeout',()=>{console.log('timeout');process.exit(3)});" +
  "s.on('error',e=>{console.log(e.code);process.exit(4)})})";

interface Net {
  name: string;
  network: Dockerode.Network;
}

describe("e2e containers", { skip, timeout: 6 * 60_000 }, () => {
  let client: ContainerRuntimeClient;
  const networks: Net[] = [];
  const started: StartedTestContainer[] = [];
  let nats: StartedTestContainer;
  let nc: NatsConnection | undefined;
  const run = `medfcl-e2e-${process.pid}`;
  const undo: Array<() => void> = [];
  let firewallGap: string | undefined;

  async function makeNetwork(suffix: string, internal: boolean): Promise<Net> {
    const name = `${run}-${suffix}`;
    const network = await client.network.create({ Name: name, Driver: "bridge", Internal: internal, CheckDuplicate: true, Labels: { "medfcl.test": run } });
    const net = { name, network };
    networks.push(net);
    if (internal) {
      const fw = enforceInternalNetwork(network.id);
      if ("undo" in fw) undo.push(fw.undo);
      else firewallGap = fw.reason;
    }
    return net;
  }

  async function attach(container: StartedTestContainer, net: Net, alias: string): Promise<void> {
    await client.container.connectToNetwork(client.container.getById(container.getId()), net.network, [alias]);
  }

  async function ipOn(container: StartedTestContainer, net: Net): Promise<string> {
    const info = await client.container.inspect(client.container.getById(container.getId()));
    const ip = info.NetworkSettings.Networks[net.name]?.IPAddress;
    assert.ok(ip, `container ${container.getName()} has no address on ${net.name}`);
    return ip;
  }

  /** A container of `image` that idles (or serves TCP on `port`) so the test can exec probes in it. */
  async function idle(image: string, net: Net, alias: string, port = 9000): Promise<StartedTestContainer> {
    const c = await new NetworkedContainer(image)
      .onNetwork(net.name, alias)
      .withEntrypoint(["node"])
      .withCommand(["-e", tcpServer(port)])
      .withWaitStrategy(Wait.forLogMessage(`listening ${port}`))
      .withStartupTimeout(30_000)
      .start();
    started.push(c);
    return c;
  }

  async function probe(from: StartedTestContainer, host: string, port: number): Promise<string> {
    const r = await from.exec(["node", "-e", tcpProbe, host, String(port)]);
    return r.output.trim();
  }

  before(async () => {
    client = await requireDocker();
    await buildAllImages();
    const edge = await makeNetwork("edge", false);
    await makeNetwork("site-a", true);
    await makeNetwork("site-b", true);
    nats = await new NetworkedContainer(images.nats)
      .onNetwork(edge.name, "nats")
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .withStartupTimeout(30_000)
      .start();
    started.push(nats);
  });

  after(async () => {
    // MEDFCL_E2E_KEEP=1 leaves containers and networks running to debug a failure (docker ps).
    await nc?.close().catch(() => undefined);
    if (process.env.MEDFCL_E2E_KEEP === "1") return; // the iptables rules stay too; they name only these bridges
    for (const c of started.reverse()) await c.stop({ timeout: 1, remove: true }).catch(() => undefined);
    for (const n of networks) await n.network.remove().catch(() => undefined);
    for (const u of undo) u();
  });

  it("e2e - images are built from the local base, run as a non-root user and carry a healthcheck", async (t) => {
    for (const tag of [images.coordinator, images.agent, images.nats]) {
      const img = await inspectImage(client, tag);
      t.diagnostic(`${tag}: ${(img.size / 1e6).toFixed(1)} MB, user ${img.user}`);
      const uid = Number(img.user.split(":")[0]);
      assert.ok(img.user !== "" && uid !== 0 && Number.isInteger(uid), `${tag} must declare a numeric non-root USER, got "${img.user}"`);
    }
    const coordinator = await inspectImage(client, images.coordinator);
    const agent = await inspectImage(client, images.agent);
    assert.equal(coordinator.healthcheck[0], "CMD");
    assert.ok(coordinator.healthcheck.join(" ").includes("/healthz"), "coordinator healthcheck asks /healthz");
    assert.deepEqual(agent.healthcheck, ["CMD", "node", "/app/dist/cli/main.js", "agent", "health"]);
    assert.deepEqual(agent.entrypoint, ["node", "/app/dist/cli/main.js"]);
    assert.deepEqual(agent.volumes, ["/state"]);
    assert.ok(agent.env.includes("MEDFCL_AGENT_DATA=/data") && agent.env.includes("MEDFCL_AGENT_STATE_DIR=/state"));
    assert.ok(coordinator.env.includes("MEDFCL_COORDINATOR_LISTEN=0.0.0.0:7443"));
  });

  it("e2e - the CLI runs inside the images: --help, config check from env and from a mounted file", async () => {
    const site = networks.find((n) => n.name.endsWith("site-a"));
    assert.ok(site);
    const agent = await new GenericContainer(images.agent)
      .withNetworkMode(site.name)
      .withEntrypoint(["node"])
      .withCommand(["-e", tcpServer(9001)])
      .withEnvironment({ MEDFCL_AGENT_SITE_ID: "hospital-a", MEDFCL_AGENT_COORDINATOR: "coordinator:7443" })
      .withCopyContentToContainer([{ content: "agent:\n  siteId: from-file\n  backend: cpu\n", target: "/config/agent.yaml", mode: 0o444 }])
      .withWaitStrategy(Wait.forLogMessage("listening 9001"))
      .start();
    started.push(agent);

    const uid = await agent.exec(["node", "-e", "process.stdout.write(String(process.getuid()))"]);
    assert.notEqual(uid.output.trim(), "0", "the agent process must not run as root");

    const help = await agent.exec(["node", "/app/dist/cli/main.js", "--help"]);
    assert.equal(help.exitCode, 0, help.output);
    assert.match(help.output, /Usage: medfcl/);

    const check = await agent.exec(["node", "/app/dist/cli/main.js", "config", "check"]);
    assert.equal(check.exitCode, 0, check.output);
    const cfg = JSON.parse(check.stdout) as { agent: { siteId: string; data: string; stateDir: string; coordinator: string; tls: { cert: string } } };
    assert.equal(cfg.agent.siteId, "hospital-a");
    assert.equal(cfg.agent.data, "/data");
    assert.equal(cfg.agent.stateDir, "/state");
    assert.equal(cfg.agent.coordinator, "coordinator:7443");
    assert.equal(cfg.agent.tls.cert, "/certs/site.crt");

    const fromFile = await agent.exec(["node", "/app/dist/cli/main.js", "config", "check", "--config", "/config/agent.yaml"]);
    assert.equal(fromFile.exitCode, 0, fromFile.output);
    const fileCfg = JSON.parse(fromFile.stdout) as { agent: { siteId: string; backend: string } };
    assert.equal(fileCfg.agent.backend, "cpu", "a key only the mounted file sets comes from the file");
    assert.equal(fileCfg.agent.siteId, "hospital-a", "env wins over the file");

    const bad = await agent.exec(["node", "/app/dist/cli/main.js", "config", "check"], { env: { MEDFCL_AGENT_BACKEND: "quantum" } });
    assert.equal(bad.exitCode, 2, `a bad config value must exit 2: ${bad.output}`);
    assert.match(bad.output, /agent\.backend/);

    const state = await agent.exec(["node", "-e", "require('fs').writeFileSync('/state/probe','ok');require('fs').writeFileSync('/data/probe','no')"]);
    assert.notEqual(state.exitCode, 0, "/data must not be writable by the agent user");
    assert.match(state.output, /EACCES/);
  });

  it("e2e - every runtime dependency loads inside the agent image (pruned node_modules are complete)", async () => {
    const site = networks.find((n) => n.name.endsWith("site-a"));
    assert.ok(site);
    const agent = await new GenericContainer(images.agent)
      .withNetworkMode(site.name)
      .withEntrypoint(["node"])
      .withCommand(["-e", tcpServer(9002)])
      .withWaitStrategy(Wait.forLogMessage("listening 9002"))
      .start();
    started.push(agent);
    const script = [
      "const tf = await import('@tensorflow/tfjs');",
      "await import('@tensorflow/tfjs-backend-wasm');",
      "await tf.setBackend('wasm'); await tf.ready();",
      "const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync();",
      "const Database = (await import('better-sqlite3')).default;",
      "const one = new Database(':memory:').prepare('select 1 as x').get().x;",
      "const sharp = (await import('sharp')).default;",
      "const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#f00' } }).png().toBuffer();",
      "const meta = await sharp(png).metadata();",
      "const ort = await import('onnxruntime-node');",
      "const t = new ort.Tensor('float32', new Float32Array([1, 2]), [2]);",
      "for (const m of ['@grpc/grpc-js', '@grpc/proto-loader', '@nats-io/transport-node', '@nats-io/jetstream', 'pino', 'zod', 'yaml', 'dcmjs', 'dicom-parser', 'node-forge', 'onnx-proto', 'fast-xml-parser', 'commander']) await import(m);",
      "console.log(JSON.stringify({ backend: tf.getBackend(), sum: Array.from(sum), one, w: meta.width, h: meta.height, ort: t.dims }));",
    ].join("\n");
    const r = await agent.exec(["node", "--input-type=module", "-e", script]);
    assert.equal(r.exitCode, 0, r.output);
    const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
    assert.deepEqual(out, { backend: "wasm", sum: [4, 6], one: 1, w: 4, h: 3, ort: [2] });
  });

  it("e2e - the NATS container serves JetStream through its mapped port", async () => {
    nc = await connect({ servers: `${nats.getHost()}:${nats.getMappedPort(4222)}`, timeout: 10_000 });
    const jsm = await jetstreamManager(nc);
    const stream = `E2E_${process.pid}`;
    await jsm.streams.add({ name: stream, subjects: [`e2e.${process.pid}.>`] });
    const js = jetstream(nc);
    const ack = await js.publish(`e2e.${process.pid}.hello`, "medfcl");
    assert.equal(ack.stream, stream);
    assert.equal(ack.seq, 1);
    const msg = await jsm.streams.getMessage(stream, { seq: 1 });
    assert.equal(msg?.string(), "medfcl");
    await jsm.streams.delete(stream);
  });

  it("e2e - an agent reaches the coordinator and NATS on its site network, never another site's agent", async (t) => {
    const [edge, siteA, siteB] = networks;
    // Stand-in coordinator from the real image, listening on the gRPC port, on edge and both sites.
    const coordinator = await idle(images.coordinator, edge, "coordinator", 7443);
    await attach(coordinator, siteA, "coordinator");
    await attach(coordinator, siteB, "coordinator");
    await attach(nats, siteA, "nats");
    await attach(nats, siteB, "nats");
    const agentA = await idle(images.agent, siteA, "agent-a");
    const agentB = await idle(images.agent, siteB, "agent-b");

    assert.equal(await probe(agentA, "coordinator", 7443), "open");
    assert.equal(await probe(agentA, "nats", 4222), "open");
    assert.equal(await probe(agentB, "coordinator", 7443), "open");
    assert.equal(await probe(agentB, "nats", 4222), "open");

    // Another site's agent: its name does not resolve, and its address is not routable.
    assert.match(await probe(agentA, "agent-b", 9000), /ENOTFOUND|EAI_AGAIN|dns-timeout/);
    if (firewallGap) {
      // Only reachable outside CI: CI runs as root, where the rules are always added.
      assert.ok(!dockerRequired(), `address-level isolation cannot be tested: ${firewallGap}`);
      t.diagnostic(`address-level isolation not tested: ${firewallGap}`);
      return;
    }
    const bIp = await ipOn(agentB, siteB);
    assert.match(await probe(agentA, bIp, 9000), /ENETUNREACH|EHOSTUNREACH|timeout/);
    assert.match(await probe(agentB, await ipOn(agentA, siteA), 9000), /ENETUNREACH|EHOSTUNREACH|timeout/);
    // Nothing outside the site network either: the edge network's addresses are unreachable.
    assert.match(await probe(agentA, await ipOn(nats, edge), 4222), /ENETUNREACH|EHOSTUNREACH|timeout/);
    // The control: the same probe from the coordinator (on both sites) does reach agent B.
    assert.equal(await probe(coordinator, bIp, 9000), "open");
  });

  it(
    "e2e - federation: two agents run a sequential run of two steps; R matrix, NATS events and a dropout",
    { skip: "needs the federation issue (coordinator/agent commands)" },
    async () => {
      // Completed with the federation issue. What it needs, in order:
      // 1. certificates: `medfcl pki init` + `issue-coordinator --hosts coordinator,localhost` +
      //    `issue-site --site site-a|site-b`, run on the host into a temp dir, copied into the
      //    containers at /certs (withCopyDirectoriesToContainer, mode 0o444);
      // 2. data: `medfcl data synth` for two tiny polyp domains on the host, copied to each agent's /data,
      //    and their test splits to the coordinator's /eval (MEDFCL_COORDINATOR_EVAL_SETS as JSON);
      // 3. the coordinator container (default CMD) on edge + site-a + site-b, alias "coordinator",
      //    MEDFCL_COORDINATOR_NATS=nats://nats:4222, exposed 7443/8080, Wait.forHealthCheck();
      // 4. agents with MEDFCL_AGENT_SITE_ID and MEDFCL_AGENT_COORDINATOR=coordinator:7443, Wait.forHealthCheck();
      // 5. subscribe to the events subject on NATS through the mapped port; start a `sequential` run of
      //    two steps through AdminService on the mapped 7443 (admin certificate); wait for run-completed;
      //    assert R is 2×2 with finite AP values and the step events arrived in order;
      // 6. start a second run, stop agent B's container (stop({timeout: 0})) after its step-started event,
      //    and assert the coordinator records the dropout (event + AdminService status) and that the
      //    run continues or ends as the policy says.
      assert.fail("not implemented yet");
    },
  );
});
