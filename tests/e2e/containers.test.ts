// Containerised end-to-end test: the real deploy/*.Dockerfile images, built on a local base image
// (no registry here), started through testcontainers on docker networks that mirror
// deploy/compose.yaml: an `edge` network for the coordinator and NATS, and one internal network per
// site that holds that site's agent plus the coordinator and NATS. Internal networks have no gateway,
// so isolation holds by construction even when dockerd runs with --iptables=false.
// The last two tests run the federation there: NATS, the coordinator, an eval worker and two agents
// from the images' own commands (mTLS, tiny synthetic data), a two-step sequential run through
// AdminService with its R matrix (every central cell evaluated by the eval-worker container, from
// the JetStream queue) and NATS events, then an agent container stopped mid-step, recorded as a dropout.
//
// Needs a docker daemon. Without one it skips, except under CI=true (or MEDFCL_REQUIRE_DOCKER=1), where it fails.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type Dockerode from "dockerode";
import { strict as assert } from "node:assert";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ContainerRuntimeClient, GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import type { ContentToCopy, HealthCheck } from "testcontainers/build/types.js";
import { synthesizeSuite } from "../../services/data/index.js";
import { type AdminClient, createAdminClient, createCertificateAuthority, issueAdminCertificate, issueCoordinatorCertificate, issueEvaluatorCertificate, issueSiteCertificate } from "../../services/transport/index.js";
import { tempDir } from "../helpers/temp.js";
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
const EVAL_WORKER = "e2e-eval-worker";

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
  /** Idle stand-ins of the isolation test; stopped before the real coordinator takes their aliases. */
  const standIns: StartedTestContainer[] = [];
  const tmpDirs: string[] = [];
  const adminClients: AdminClient[] = [];
  let eventsNc: NatsConnection | undefined;

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
    standIns.push(c);
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
    await eventsNc?.close().catch(() => undefined);
    for (const a of adminClients) a.close();
    for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
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
    assert.deepEqual(agent.healthcheck, ["CMD", "node", "/app/healthcheck.mjs"]);
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
    await attachNatsToSites();
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

  // ---- The federation in containers: the real coordinator and agents, mTLS, NATS, training. ----

  /** Short heartbeats so a stopped agent is a dropout within seconds (1 s × 10 misses); a long task deadline, so only silence drops it. */
  const heartbeat = { intervalMs: 1000, misses: 10 };
  const hyperparameters = { lr: 2e-3, text_lr: 2e-4, epochs: 1, max_steps: 4, batch_size: 4, freeze_stages: 0, grad_clip: 5, seed: 3 };
  const siteDomain = { "site-a": "kvasir", "site-b": "clinicdb" } as const;
  type SiteId = keyof typeof siteDomain;

  interface Received {
    subject: string;
    event: { type: string; runId?: string; siteId?: string; step?: number; reason?: string };
  }

  interface Federation {
    coordinator: StartedTestContainer;
    evalWorker: StartedTestContainer;
    agents: Record<SiteId, StartedTestContainer>;
    admin: AdminClient;
    events: Received[];
    /** Resolves with the first event (already received or future) that matches. */
    waitForEvent(match: (r: Received) => boolean, timeoutMs: number, what: string): Promise<Received>;
    httpBase: string;
  }

  let federation: Promise<Federation> | undefined;
  let natsOnSites = false;

  async function attachNatsToSites(): Promise<void> {
    if (natsOnSites) return;
    natsOnSites = true;
    await attach(nats, networks[1], "nats");
    await attach(nats, networks[2], "nats");
  }

  /** The image's own HEALTHCHECK command with test timings: probe every 2 s from the start. */
  async function fastHealthCheck(tag: string): Promise<HealthCheck> {
    const test = (await inspectImage(client, tag)).healthcheck;
    assert.equal(test[0], "CMD", `${tag} has no exec-form healthcheck`);
    return { test: test as HealthCheck["test"], interval: 2000, timeout: 15_000, retries: 5, startPeriod: 120_000 };
  }

  function certFiles(files: Record<string, string>, dir: string): ContentToCopy[] {
    // 0444: the files belong to root in the container; the runtime user (10001) must read the key.
    return Object.entries(files).map(([target, content]) => ({ content, target: `${dir}/${target}`, mode: 0o444 }));
  }

  async function startFederation(): Promise<Federation> {
    const [edge, siteA, siteB] = networks;
    // The isolation test's stand-ins hold the "coordinator" alias on the site networks; free it.
    for (const c of standIns.splice(0)) await c.stop({ timeout: 0, remove: true }).catch(() => undefined);
    await attachNatsToSites();

    // 1. Certificates (as `medfcl pki` writes them) and a tiny synthetic polyp suite of two domains.
    const dir = tempDir("medfcl-e2e-fed-");
    tmpDirs.push(dir);
    const ca = createCertificateAuthority({ keyBits: 2048 });
    const server = issueCoordinatorCertificate(ca, ["coordinator", "localhost", "127.0.0.1"], { keyBits: 2048 });
    const leaf = (id: string) => issueSiteCertificate(ca, id, { keyBits: 2048 });
    const adminCert = issueAdminCertificate(ca, "admin", { keyBits: 2048 });
    mkdirSync(join(dir, "admin"));
    writeFileSync(join(dir, "admin", "ca.crt"), ca.certPem);
    writeFileSync(join(dir, "admin", "admin.crt"), adminCert.certPem);
    writeFileSync(join(dir, "admin", "admin.key"), adminCert.keyPem, { mode: 0o600 });
    const suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 3, scale: "tiny", domains: Object.values(siteDomain) });
    const split = (domain: string, which: "train" | "test") => {
      const d = suite.domains.find((x) => x.name === domain);
      const rel = d?.splits[which];
      assert.ok(rel, `the synthetic suite has no ${which} split for ${domain}`);
      return join(dir, "suite", rel);
    };

    // 2. Everything the coordinator publishes, from the start (site.registered comes first).
    const events: Received[] = [];
    const waiters: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
    eventsNc = await connect({ servers: `${nats.getHost()}:${nats.getMappedPort(4222)}`, timeout: 10_000 });
    const sub = eventsNc.subscribe("medfcl.>");
    void (async () => {
      for await (const m of sub) {
        const r: Received = { subject: m.subject, event: m.json() };
        events.push(r);
        for (const w of waiters.splice(0)) {
          if (w.match(r)) w.resolve(r);
          else waiters.push(w);
        }
      }
    })();
    const waitForEvent = (match: (r: Received) => boolean, timeoutMs: number, what: string): Promise<Received> => {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} event within ${timeoutMs / 1000} s; got ${[...new Set(events.map((e) => e.subject))].join(", ")}`)), timeoutMs);
        waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    };

    // 3. The coordinator, from the image's default command, on edge and on both site networks.
    const evalSets = Object.fromEntries(Object.values(siteDomain).map((d) => [d, `/eval/${d}`]));
    const coordinator = await new NetworkedContainer(images.coordinator)
      .onNetwork(edge.name, "coordinator")
      .withExposedPorts(7443, 8080)
      .withEnvironment({
        MEDFCL_COORDINATOR_NATS: "nats://nats:4222",
        MEDFCL_COORDINATOR_EVAL_SETS: JSON.stringify(evalSets),
        MEDFCL_COORDINATOR_HEARTBEAT_INTERVAL_MS: String(heartbeat.intervalMs),
        MEDFCL_COORDINATOR_HEARTBEAT_MISSES: String(heartbeat.misses),
        MEDFCL_COORDINATOR_TASK_DEADLINE_MS: "600000",
        // Central evaluation only through the eval-worker container below: the coordinator evaluates nothing itself.
        MEDFCL_COORDINATOR_EVAL_WORKERS: "external",
      })
      .withCopyContentToContainer(certFiles({ "ca.crt": ca.certPem, "coordinator.crt": server.certPem, "coordinator.key": server.keyPem }, "/certs"))
      .withCopyDirectoriesToContainer(Object.values(siteDomain).map((d) => ({ source: split(d, "test"), target: `/eval/${d}` })))
      .withHealthCheck(await fastHealthCheck(images.coordinator))
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(90_000)
      .start();
    started.push(coordinator);
    await attach(coordinator, siteA, "coordinator");
    await attach(coordinator, siteB, "coordinator");

    // 4. An eval worker from the coordinator image's own CLI, on the edge network only, as in
    // deploy/compose.yaml: jobs from NATS, model bytes from the coordinator over mTLS with an
    // evaluator certificate (PullModelVersion and nothing else), the same test sets.
    const evaluatorCert = issueEvaluatorCertificate(ca, "eval-worker", { keyBits: 2048 });
    const evalWorker = await new NetworkedContainer(images.coordinator)
      .onNetwork(edge.name, "eval-worker")
      .withCommand(["eval-worker", "--nats", "nats://nats:4222", "--coordinator", "coordinator:7443", "--name", EVAL_WORKER, "--tls-ca", "/certs/ca.crt", "--tls-cert", "/certs/evaluator.crt", "--tls-key", "/certs/evaluator.key"])
      .withEnvironment({ MEDFCL_COORDINATOR_EVAL_SETS: JSON.stringify(evalSets) })
      .withCopyContentToContainer(certFiles({ "ca.crt": ca.certPem, "evaluator.crt": evaluatorCert.certPem, "evaluator.key": evaluatorCert.keyPem }, "/certs"))
      .withCopyDirectoriesToContainer(Object.values(siteDomain).map((d) => ({ source: split(d, "test"), target: `/eval/${d}` })))
      .withWaitStrategy(Wait.forLogMessage(/eval worker waiting for jobs/))
      .withStartupTimeout(90_000)
      .start();
    started.push(evalWorker);

    // 5. One agent per site, each alone on its site network, with its own data and certificate.
    const agentHealth = await fastHealthCheck(images.agent);
    const startAgent = async (site: SiteId, net: Net): Promise<StartedTestContainer> => {
      const cert = leaf(site);
      const c = await new NetworkedContainer(images.agent)
        .onNetwork(net.name, `agent-${site.slice(-1)}`)
        .withEnvironment({ MEDFCL_AGENT_SITE_ID: site, MEDFCL_AGENT_COORDINATOR: "coordinator:7443", MEDFCL_AGENT_DOMAIN: siteDomain[site] })
        .withCopyContentToContainer(certFiles({ "ca.crt": ca.certPem, "site.crt": cert.certPem, "site.key": cert.keyPem }, "/certs"))
        .withCopyDirectoriesToContainer([{ source: split(siteDomain[site], "train"), target: "/data" }])
        .withHealthCheck(agentHealth)
        .withWaitStrategy(Wait.forHealthCheck())
        .withStartupTimeout(120_000)
        .start();
      started.push(c);
      return c;
    };
    const [a, b] = await Promise.all([startAgent("site-a", siteA), startAgent("site-b", siteB)]);

    const admin = createAdminClient(`${coordinator.getHost()}:${coordinator.getMappedPort(7443)}`, {
      insecure: false,
      serverName: "coordinator",
      tls: { ca: join(dir, "admin", "ca.crt"), cert: join(dir, "admin", "admin.crt"), key: join(dir, "admin", "admin.key") },
    });
    adminClients.push(admin);
    return { coordinator, evalWorker, agents: { "site-a": a, "site-b": b }, admin, events, waitForEvent, httpBase: `http://${coordinator.getHost()}:${coordinator.getMappedPort(8080)}` };
  }

  const getFederation = (): Promise<Federation> => (federation ??= startFederation());

  /** The (version, domain) cells the eval-worker container evaluated, from its own log lines. */
  async function cellsEvaluatedByWorker(f: Federation): Promise<string[]> {
    const raw = await client.container.getById(f.evalWorker.getId()).logs({ stdout: true, stderr: true, follow: false });
    const cells: string[] = [];
    for (const line of String(raw).split("\n")) {
      const m = /\{.*"msg":"evaluated".*\}/.exec(line);
      if (!m) continue;
      const e = JSON.parse(m[0]) as { runId: string; version: string; domain: string };
      cells.push(`${e.runId}/${e.version}/${e.domain}`);
    }
    return cells;
  }

  /** Creates a sequential run; a healthy agent has registered, but retry briefly in case of a race. */
  async function createRun(admin: AdminClient, name: string, sites: SiteId[]): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        const run = await admin.createRun({ name, strategy: "sequential", sites, seed: 3, model: "nano", hyperparameters, dropout_policy: "DROPOUT_POLICY_SKIP" });
        return run.run_id;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  const stepEvents = (f: Federation, runId: string, step: number) =>
    f.events.filter((r) => r.event.runId === runId && r.event.step === step && r.subject.includes(`.step.${step}.`)).map((r) => r.subject.split(`.step.${step}.`)[1]);

  it("e2e - federation: two agent containers run a sequential run of two steps; R through AdminService, events on NATS", async (t) => {
    const f = await getFederation();
    const health = await fetch(`${f.httpBase}/healthz`);
    assert.equal(health.status, 200);

    // The real containers sit where the isolation test put its stand-ins: an agent reaches the
    // coordinator and NATS by name, and the other site's agent not even by name.
    const a = f.agents["site-a"];
    assert.equal(await probe(a, "coordinator", 7443), "open");
    assert.equal(await probe(a, "nats", 4222), "open");
    assert.match(await probe(a, "agent-b", 7443), /ENOTFOUND|EAI_AGAIN|dns-timeout/);

    const runId = await createRun(f.admin, "e2e-seq", ["site-a", "site-b"]);
    const run = await f.admin.waitForRun(runId, { pollMs: 1000, timeoutMs: 240_000 });
    assert.equal(run.state, "completed", `run ${runId} ended ${run.state}: ${run.error}`);
    assert.deepEqual(
      run.steps.map((s) => ({ index: s.index, domain: s.domain, sites: s.sites, state: s.state, dropouts: s.dropouts })),
      [
        { index: 0, domain: "kvasir", sites: ["site-a"], state: "closed", dropouts: [] },
        { index: 1, domain: "clinicdb", sites: ["site-b"], state: "closed", dropouts: [] },
      ],
    );

    // R: one row per step, one column per evaluated domain, every cell an AP in percent.
    const audit = await f.admin.getAudit(runId);
    const m = audit.matrix;
    assert.ok(m, "the audit has no accuracy matrix");
    assert.deepEqual(m.steps, ["kvasir", "clinicdb"]);
    assert.deepEqual([...m.domains].sort(), ["clinicdb", "kvasir"]);
    assert.equal(m.rows.length, 2);
    for (const row of m.rows) {
      assert.equal(row.cells.length, 2);
      for (const c of row.cells) assert.ok(!c.missing && Number.isFinite(c.value) && c.value >= 0 && c.value <= 100, `bad R cell ${JSON.stringify(c)}`);
    }
    t.diagnostic(`R (AP %, ${m.domains.join(", ")}): ${m.rows.map((r) => r.cells.map((c) => c.value.toFixed(2)).join(" ")).join(" | ")}`);

    // Every central cell (the base model and both steps, on both domains) came from the eval-worker
    // container: the coordinator runs with evalWorkers external and evaluates nothing itself.
    const byWorker = (await cellsEvaluatedByWorker(f)).filter((c) => c.startsWith(`${runId}/`));
    assert.equal(new Set(byWorker).size, 3 * m.domains.length, `the eval worker evaluated base + 2 steps on ${m.domains.length} domains: ${byWorker.join(", ")}`);

    // NATS: each step's events in order, for the right site, and the site events of both agents.
    await f.waitForEvent((r) => r.event.type === "run.completed" && r.event.runId === runId, 10_000, "run.completed");
    for (const [step, site] of [[0, "site-a"], [1, "site-b"]] as const) {
      assert.deepEqual(stepEvents(f, runId, step), ["opened", "task.assigned", "update.received", "evaluated", "closed"], `step ${step} events`);
      const assigned = f.events.find((r) => r.event.runId === runId && r.event.step === step && r.event.type === "task.assigned");
      assert.equal(assigned?.event.siteId, site);
    }
    const runSubjects = f.events.filter((r) => r.event.runId === runId).map((r) => r.subject);
    assert.equal(runSubjects[0], `medfcl.run.${runId}.created`);
    assert.equal(runSubjects.filter((s) => !s.includes(".step.")).at(-1), `medfcl.run.${runId}.completed`);
    assert.ok(runSubjects.indexOf(`medfcl.run.${runId}.step.0.closed`) < runSubjects.indexOf(`medfcl.run.${runId}.step.1.opened`));
    for (const site of ["site-a", "site-b"]) {
      for (const type of ["registered", "heartbeat", "progress"]) {
        assert.ok(f.events.some((r) => r.subject === `medfcl.site.${site}.${type}`), `no medfcl.site.${site}.${type} event`);
      }
    }
    assert.ok(!f.events.some((r) => r.event.type === "site.dropout"), "no site may drop out of a healthy run");
  });

  it("e2e - federation: an agent container stopped mid-step is recorded as a dropout and the run completes (policy skip)", async (t) => {
    const f = await getFederation();
    // B trains first; A's step comes after, so "the run continues" means A's step really runs.
    const runId = await createRun(f.admin, "e2e-dropout", ["site-b", "site-a"]);
    // B has its task and is working on it (it heartbeats the task id at once): stop it, like a crash.
    await f.waitForEvent((r) => r.subject === "medfcl.site.site-b.progress" && r.event.runId === runId, 120_000, "site-b progress");
    const stoppedAt = Date.now();
    await f.agents["site-b"].stop({ timeout: 0, remove: true });

    const dropout = await f.waitForEvent((r) => r.event.type === "site.dropout" && r.event.runId === runId, 60_000, "site.dropout");
    t.diagnostic(`dropout after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s: ${dropout.event.reason}`);
    assert.equal(dropout.subject, `medfcl.run.${runId}.step.0.dropout`);
    assert.equal(dropout.event.siteId, "site-b");
    assert.match(dropout.event.reason ?? "", /no heartbeat/);

    const run = await f.admin.waitForRun(runId, { pollMs: 1000, timeoutMs: 180_000 });
    assert.equal(run.state, "completed", `run ${runId} ended ${run.state}: ${run.error}`);
    assert.deepEqual(
      run.steps.map((s) => ({ index: s.index, sites: s.sites, state: s.state, dropouts: s.dropouts })),
      [
        { index: 0, sites: ["site-b"], state: "closed", dropouts: ["site-b"] },
        { index: 1, sites: ["site-a"], state: "closed", dropouts: [] },
      ],
    );
    // The run's state is committed before its last events are published: the step events are all
    // here once run.completed (published last, on the same connection) has arrived.
    await f.waitForEvent((r) => r.event.type === "run.completed" && r.event.runId === runId, 10_000, "run.completed");
    // Step 0 closed without an update (the model is kept) and was still evaluated; step 1 trained at A.
    assert.deepEqual(stepEvents(f, runId, 0), ["opened", "task.assigned", "dropout", "evaluated", "closed"]);
    assert.deepEqual(stepEvents(f, runId, 1), ["opened", "task.assigned", "update.received", "evaluated", "closed"]);
    const audit = await f.admin.getAudit(runId);
    assert.equal(audit.matrix?.rows.length, 2);
    assert.ok(audit.matrix.rows.every((r) => r.cells.every((c) => !c.missing)));
    // The coordinator's metrics see one live site of two.
    const metrics = await (await fetch(`${f.httpBase}/metrics`)).text();
    assert.match(metrics, /^medfcl_sites 2$/m);
    assert.match(metrics, /^medfcl_sites_alive 1$/m);
  });
});
