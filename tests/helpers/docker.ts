// Docker helpers for the containerised tests (tests/e2e, tests/deploy).
//
// No registry can be reached where these tests run, so every image is built locally:
// - a node base image FROM scratch out of the host's `node` binary and the shared libraries that
//   `ldd` lists for it and for every native addon (.node) in the build context;
// - a NATS image out of the host's `nats-server` binary;
// - the real deploy/*.Dockerfile images, with NODE_IMAGE pointing at that base.
// Builds go through the daemon's classic builder, so unchanged layers come from its cache.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type ContainerRuntimeClient, GenericContainer, getContainerRuntimeClient } from "testcontainers";
import { MissingRequirementError, required } from "./ci.js";

export const repoRoot = resolve(new URL("../..", import.meta.url).pathname);

/** Image names the tests build; `:local` tags never leave this machine. */
export const images = {
  nodeBase: "medfcl-test/node-base:local",
  nats: "medfcl-test/nats:local",
  coordinator: "medfcl-test/coordinator:local",
  agent: "medfcl-test/agent:local",
} as const;

export type DockerGate = { ok: true; client: ContainerRuntimeClient } | { ok: false; reason: string };

/** True under CI (or MEDFCL_REQUIRE_DOCKER=1): then a missing daemon fails the suite instead of skipping it. */
export function dockerRequired(): boolean {
  return required("MEDFCL_REQUIRE_DOCKER");
}

let gate: Promise<DockerGate> | undefined;

/**
 * Finds a working docker daemon once per process. Ryuk (the reaper container) cannot be pulled
 * here, so it is disabled; the tests stop what they start in `after`.
 */
export function detectDocker(): Promise<DockerGate> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  gate ??= (async (): Promise<DockerGate> => {
    try {
      const client = await getContainerRuntimeClient();
      return { ok: true, client };
    } catch (err) {
      const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
      return { ok: false, reason: `no docker daemon reachable (${why}); start one with \`dockerd --iptables=false --ip-masq=false &\`` };
    }
  })();
  return gate;
}

/**
 * For `describe`/`it` options: a skip message when docker is missing and not required, false otherwise.
 * When docker is required and missing, returns false so the test runs and `requireDocker` fails it.
 */
export async function dockerSkip(): Promise<string | false> {
  const g = await detectDocker();
  if (g.ok || dockerRequired()) return false;
  return `skipped: ${g.reason} (under CI=true, or with MEDFCL_REQUIRE_DOCKER=1, this is a failure)`;
}

/** The runtime client, or a thrown error that names why docker is unusable (used when it is required). */
export async function requireDocker(): Promise<ContainerRuntimeClient> {
  const g = await detectDocker();
  if (!g.ok) throw new MissingRequirementError("a docker daemon", g.reason);
  return g.client;
}

/** Shared libraries a binary loads, as absolute host paths (the loader included, the vDSO excluded). */
export function lddLibraries(binary: string): string[] {
  const r = spawnSync("ldd", [binary], { encoding: "utf8" });
  const text = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (/not a dynamic executable|statically linked/.test(text)) return [];
  if (r.status !== 0) throw new Error(`ldd ${binary} failed: ${text.trim()}`);
  const libs: string[] = [];
  for (const line of text.split("\n")) {
    const arrow = line.match(/=>\s+(\/\S+)/);
    const bare = line.match(/^\s*(\/\S+)\s+\(/);
    const path = arrow?.[1] ?? bare?.[1];
    if (path && !line.includes("not found")) libs.push(path);
    else if (line.includes("not found")) throw new Error(`ldd ${binary}: ${line.trim()}; install the library on the host`);
  }
  return libs;
}

function findFiles(dir: string, suffix: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) findFiles(p, suffix, out);
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

/** Copies a host file into a rootfs at the same absolute path, resolving symlinks to the real file. */
function copyIntoRootfs(rootfs: string, hostPath: string, at = hostPath): void {
  const dst = join(rootfs, at);
  mkdirSync(dirname(dst), { recursive: true });
  copyFileSync(realpathSync(hostPath), dst);
  chmodSync(dst, statSync(realpathSync(hostPath)).mode & 0o777);
}

function writeMinimalEtc(rootfs: string): void {
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/sbin/nologin\nmedfcl:x:10001:10001:medfcl:/tmp:/sbin/nologin\nnats:x:10002:10002:nats:/tmp:/sbin/nologin\n");
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\nmedfcl:x:10001:\nnats:x:10002:\n");
  writeFileSync(join(rootfs, "etc", "nsswitch.conf"), "hosts: files dns\n");
  mkdirSync(join(rootfs, "tmp"), { recursive: true });
  chmodSync(join(rootfs, "tmp"), 0o1777);
}

async function buildImage(context: string, dockerfile: string, tag: string, buildArgs: Record<string, string> = {}): Promise<void> {
  await GenericContainer.fromDockerfile(context, dockerfile).withBuildArgs(buildArgs).build(tag, { deleteOnExit: false });
}

/**
 * A node image FROM scratch: /usr/local/bin/node plus the libraries that node and the given native
 * addons need. `addonsDir` is scanned for *.node files (the build context's node_modules).
 */
export async function buildNodeBaseImage(addonsDir: string, tag: string = images.nodeBase): Promise<{ libraries: string[] }> {
  const dir = join(tmpdir(), "medfcl-node-base");
  rmSync(dir, { recursive: true, force: true });
  const rootfs = join(dir, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  const node = realpathSync(process.execPath);
  const addons = findFiles(addonsDir, ".node");
  // Libraries that ship inside node_modules (libvips, libonnxruntime) are already in the image.
  const libraries = [...new Set([node, ...addons].flatMap(lddLibraries))].filter((l) => !l.includes("/node_modules/")).sort();
  copyIntoRootfs(rootfs, node, "/usr/local/bin/node");
  for (const lib of libraries) copyIntoRootfs(rootfs, lib);
  writeMinimalEtc(rootfs);
  writeFileSync(
    join(dir, "Dockerfile"),
    [
      "# Generated by tests/helpers/docker.ts: the host's node and the libraries ldd lists, nothing else.",
      "FROM scratch",
      "COPY rootfs/ /",
      "ENV PATH=/usr/local/bin:/usr/bin:/bin",
      'CMD ["node"]',
      "",
    ].join("\n"),
  );
  await buildImage(dir, "Dockerfile", tag);
  return { libraries };
}

/** A NATS image out of the host's nats-server binary (JetStream on, store in /data). */
export async function buildNatsImage(tag: string = images.nats): Promise<void> {
  const which = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  const bin = which.stdout.trim();
  if (which.status !== 0 || !bin) throw new Error("nats-server is not installed on the host (apt-get install nats-server)");
  const dir = join(tmpdir(), "medfcl-nats-image");
  rmSync(dir, { recursive: true, force: true });
  const rootfs = join(dir, "rootfs");
  copyIntoRootfs(rootfs, bin, "/usr/local/bin/nats-server");
  for (const lib of lddLibraries(realpathSync(bin))) copyIntoRootfs(rootfs, lib);
  writeMinimalEtc(rootfs);
  // Outside rootfs/: COPY --chown does not change a directory that an earlier COPY created.
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(
    join(dir, "Dockerfile"),
    [
      "# Generated by tests/helpers/docker.ts: Debian's nats-server binary, run as a non-root user.",
      "FROM scratch",
      "COPY rootfs/ /",
      "COPY --chown=10002:10002 data/ /data/",
      "USER 10002:10002",
      "EXPOSE 4222 8222",
      'ENTRYPOINT ["/usr/local/bin/nats-server"]',
      'CMD ["-js", "-sd", "/data", "-m", "8222"]',
      "",
    ].join("\n"),
  );
  await buildImage(dir, "Dockerfile", tag);
}

/** Writes the docker build context (dist/, package.json, production node_modules) with deploy/build-context.mjs. */
export function assembleBuildContext(out = join(repoRoot, "deploy", "build", "context")): string {
  if (!existsSync(join(repoRoot, "dist", "cli", "main.js"))) {
    const b = spawnSync("npm", ["run", "build"], { cwd: repoRoot, encoding: "utf8" });
    if (b.status !== 0) throw new Error(`npm run build failed:\n${b.stdout}\n${b.stderr}`);
  }
  const r = spawnSync(process.execPath, [join(repoRoot, "deploy", "build-context.mjs"), "--out", out], { cwd: repoRoot, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`deploy/build-context.mjs failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}

export interface BuiltImages {
  context: string;
  baseLibraries: string[];
}

let built: Promise<BuiltImages> | undefined;

/** Builds (or takes from the layer cache) the base, NATS, coordinator and agent images, once per process. */
export function buildAllImages(): Promise<BuiltImages> {
  built ??= (async () => {
    const context = assembleBuildContext();
    const { libraries } = await buildNodeBaseImage(join(context, "node_modules"));
    await buildNatsImage();
    const args = { NODE_IMAGE: images.nodeBase };
    // Sequential on purpose: the agent build reuses the coordinator's node_modules layer from the cache.
    await buildImage(context, "coordinator.Dockerfile", images.coordinator, args);
    await buildImage(context, "agent.Dockerfile", images.agent, args);
    return { context, baseLibraries: libraries };
  })();
  return built;
}

/** What the daemon knows of a local image: size in bytes, runtime user, healthcheck, env, entrypoint. */
export async function inspectImage(client: ContainerRuntimeClient, tag: string): Promise<{
  size: number;
  user: string;
  healthcheck: string[];
  env: string[];
  entrypoint: string[];
  volumes: string[];
}> {
  const info = await client.container.dockerode.getImage(tag).inspect();
  return {
    size: info.Size,
    user: info.Config.User ?? "",
    healthcheck: (info.Config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test ?? [],
    env: info.Config.Env ?? [],
    entrypoint: ([] as string[]).concat(info.Config.Entrypoint ?? []),
    volumes: Object.keys(info.Config.Volumes ?? {}),
  };
}

/**
 * A GenericContainer that joins one user network *with* DNS aliases at creation. testcontainers'
 * own withNetworkAliases creates the container on the default bridge first and then connects it,
 * which leaves every container on one shared network and defeats the isolation under test.
 */
export class NetworkedContainer extends GenericContainer {
  onNetwork(network: string, ...aliases: string[]): this {
    this.withNetworkMode(network);
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: aliases } } };
    return this;
  }
}

/**
 * The FORWARD rules dockerd installs for an `internal: true` network (traffic may neither enter nor
 * leave the bridge), for daemons run with --iptables=false, as this project's CI does. Without them
 * the host routes between bridges and "internal" isolates only DNS names. Returns the undo, or a
 * reason when it cannot be done (no iptables, not root): the caller then cannot test address-level
 * isolation.
 */
export function enforceInternalNetwork(networkId: string): { undo: () => void } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: "not root, cannot add iptables rules" };
  const bridge = `br-${networkId.slice(0, 12)}`;
  const rules = [
    ["-i", bridge, "!", "-o", bridge, "-j", "DROP"],
    ["!", "-i", bridge, "-o", bridge, "-j", "DROP"],
  ];
  const added: string[][] = [];
  for (const rule of rules) {
    const r = spawnSync("iptables", ["-w", "-I", "FORWARD", ...rule], { encoding: "utf8" });
    if (r.status !== 0) {
      for (const a of added) spawnSync("iptables", ["-w", "-D", "FORWARD", ...a]);
      return { reason: `iptables -I FORWARD failed: ${(r.stderr || r.error?.message || "").trim()}` };
    }
    added.push(rule);
  }
  return { undo: () => added.forEach((a) => spawnSync("iptables", ["-w", "-D", "FORWARD", ...a])) };
}
