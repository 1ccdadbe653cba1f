// deploy/k8s: every manifest validated against the Kubernetes schemas (npm kubernetes-models), the
// overlays rendered with `kubectl kustomize`, and the security properties checked on the result.
// Without kubectl the render tests skip locally and fail under CI=true (or MEDFCL_REQUIRE_DOCKER=1).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { envLeaves } from "../../services/config/index.js";
import { skipUnless } from "../helpers/ci.js";
import { repoRoot } from "../helpers/docker.js";

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  startupProbe?: { grpc?: { port: number; service?: string } };
  livenessProbe?: { httpGet?: { path: string }; exec?: { command: string[] }; grpc?: { port: number; service?: string } };
  readinessProbe?: { httpGet?: { path: string }; grpc?: { port: number; service?: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  automountServiceAccountToken?: boolean;
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string; path: string }> }; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }>;
}

const k8sDir = join(repoRoot, "deploy", "k8s");

function kubectlAvailable(): boolean {
  return spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
}
const hasKubectl = kubectlAvailable();
const renderSkip = skipUnless("the kustomize render tests", hasKubectl ? false : "kubectl is not installed; `kubectl kustomize` renders are not checked", "MEDFCL_REQUIRE_DOCKER");

function parseObjects(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${source}: ${d.errors[0].message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

function render(dir: string): K8sObject[] {
  assert.ok(hasKubectl, "kubectl is required in CI to render deploy/k8s (it comes with this machine kind)");
  const r = spawnSync("kubectl", ["kustomize", join(k8sDir, dir)], { encoding: "utf8" });
  assert.equal(r.status, 0, `kubectl kustomize ${dir} failed:\n${r.stderr}`);
  return parseObjects(r.stdout, `kustomize ${dir}`);
}

/** kubernetes-models module path for an object: apps/v1 -> "apps/v1/Kind", v1 -> "v1/Kind". */
async function validate(obj: K8sObject): Promise<void> {
  const mod = (await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  assert.ok(Model, `no schema for ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (err) {
    assert.fail(`${obj.kind}/${obj.metadata?.name} does not match the Kubernetes schema: ${(err as Error).message}`);
  }
}

/** The resource files a kustomization lists (the raw manifests, before any overlay). */
function kustomizationResources(dir: string): string[] {
  const k = parseObjects(readFileSync(join(k8sDir, dir, "kustomization.yaml"), "utf8"), dir)[0] as unknown as { resources: string[] };
  return k.resources.map((r) => join(k8sDir, dir, r));
}

function podSpec(obj: K8sObject): PodSpec | undefined {
  const spec = obj.spec as { template?: { spec: PodSpec } } | undefined;
  return spec?.template?.spec;
}

function byKind(objs: K8sObject[], kind: string, name?: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

function assertHardened(objs: K8sObject[]): void {
  for (const o of objs) {
    const pod = podSpec(o);
    if (!pod) continue;
    const where = `${o.kind}/${o.metadata.name}`;
    assert.equal(pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
    assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${where}: runAsUser must be non-zero`);
    assert.equal(pod.automountServiceAccountToken, false, `${where}: no service account token`);
    for (const c of pod.containers) {
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where}/${c.name}: allowPrivilegeEscalation`);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${where}/${c.name}: readOnlyRootFilesystem`);
      assert.deepEqual(c.securityContext?.capabilities?.drop, ["ALL"]);
      assert.ok(c.resources?.requests && c.resources.limits, `${where}/${c.name}: resources`);
      assert.ok(c.livenessProbe, `${where}/${c.name}: livenessProbe`);
    }
  }
}

describe("deploy k8s", () => {
  it("k8s - every manifest in the bases matches the Kubernetes schemas", async () => {
    const files = [...kustomizationResources("base"), ...kustomizationResources("agent")];
    assert.ok(files.length >= 10);
    for (const f of files) {
      const objs = parseObjects(readFileSync(f, "utf8"), f);
      assert.ok(objs.length > 0, `${f} holds no object`);
      for (const o of objs) await validate(o);
    }
  });

  it("k8s - every MEDFCL_* key in the ConfigMaps is a real config variable", () => {
    const known = new Set(envLeaves().map((l) => l.envName));
    for (const f of [join(k8sDir, "base", "coordinator-configmap.yaml"), join(k8sDir, "agent", "configmap.yaml")]) {
      const [cm] = parseObjects(readFileSync(f, "utf8"), f) as Array<K8sObject & { data: Record<string, string> }>;
      for (const key of Object.keys(cm.data)) assert.ok(known.has(key), `${f}: ${key} is not a medfcl config variable`);
    }
  });

  it("k8s - overlays/central renders: coordinator StatefulSet with PVC, probes, TLS from a Secret, NetworkPolicy, NATS JetStream", { skip: renderSkip }, async () => {
    const objs = render("overlays/central");
    for (const o of objs) await validate(o);
    for (const o of objs) assert.equal(o.metadata.namespace, "medfcl", `${o.kind}/${o.metadata.name} namespace`);
    assertHardened(objs);

    const [sts] = byKind(objs, "StatefulSet", "medfcl-coordinator");
    assert.ok(sts, "coordinator StatefulSet");
    const stsSpec = sts.spec as { replicas: number; volumeClaimTemplates: Array<{ metadata: { name: string } }> };
    assert.equal(stsSpec.replicas, 1, "one coordinator: SQLite has one writer");
    assert.deepEqual(stsSpec.volumeClaimTemplates.map((v) => v.metadata.name), ["state"]);
    const pod = podSpec(sts);
    assert.ok(pod);
    const c = pod.containers[0];
    assert.equal(c.image, "registry.example.org/medfcl/coordinator:0.1.0");
    // gRPC probes (grpc.health.v1) on the plaintext health-only port the ConfigMap opens.
    const healthPort = c.ports?.find((p) => p.name === "grpc-health")?.containerPort;
    assert.ok(healthPort, "a grpc-health container port");
    for (const [name, probe] of [["startup", c.startupProbe], ["liveness", c.livenessProbe], ["readiness", c.readinessProbe]] as const) {
      assert.equal(probe?.grpc?.port, healthPort, `${name} probe is a gRPC probe on the health port`);
    }
    assert.ok(c.volumeMounts?.some((m) => m.name === "state" && m.mountPath === "/state"));
    assert.ok(c.volumeMounts?.some((m) => m.name === "certs" && m.mountPath === "/certs" && m.readOnly));
    const certs = pod.volumes?.find((v) => v.name === "certs");
    assert.equal(certs?.secret?.secretName, "medfcl-coordinator-tls");
    assert.deepEqual(certs?.secret?.items?.map((i) => i.path).sort(), ["ca.crt", "coordinator.crt", "coordinator.key"]);
    const cmName = c.envFrom?.[0]?.configMapRef?.name;
    const [cm] = byKind(objs, "ConfigMap", cmName) as Array<K8sObject & { data: Record<string, string> }>;
    assert.ok(cm, `ConfigMap ${cmName} referenced by the coordinator is rendered`);
    assert.equal(cm.data.MEDFCL_COORDINATOR_NATS, "nats://medfcl-nats.medfcl.svc:4222");
    assert.equal(cm.data.MEDFCL_COORDINATOR_TLS_CERT, "/certs/coordinator.crt");
    assert.equal(cm.data.MEDFCL_COORDINATOR_HEALTH_LISTEN, `0.0.0.0:${healthPort}`, "the probes ask the port the coordinator opens for health");

    const [grpc] = byKind(objs, "Service", "medfcl-coordinator");
    assert.equal((grpc.spec as { type: string }).type, "LoadBalancer");
    const [http] = byKind(objs, "Service", "medfcl-coordinator-http");
    assert.equal((http.spec as { type: string }).type, "ClusterIP", "HTTP stays inside the cluster");

    const policies = byKind(objs, "NetworkPolicy");
    const coordPolicy = policies.find((p) => (p.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels["app.kubernetes.io/name"] === "medfcl-coordinator");
    assert.ok(coordPolicy, "a NetworkPolicy selects the coordinator");
    assert.deepEqual((coordPolicy.spec as { policyTypes: string[] }).policyTypes, ["Ingress", "Egress"]);

    const [nats] = byKind(objs, "StatefulSet", "medfcl-nats");
    assert.ok(podSpec(nats)?.containers[0].args?.includes("-js"), "NATS runs JetStream");
  });

  it("k8s - overlays/central renders the eval workers: a stateless Deployment on the coordinator's queue and test sets, an evaluator certificate, egress only to NATS, the coordinator and DNS", { skip: renderSkip }, async () => {
    const objs = render("overlays/central");
    const [dep] = byKind(objs, "Deployment", "medfcl-eval-worker");
    assert.ok(dep, "eval-worker Deployment");
    assert.ok((dep.spec as { replicas: number }).replicas >= 2, "more than one worker");
    const pod = podSpec(dep)!;
    const c = pod.containers[0];
    assert.equal(c.image, "registry.example.org/medfcl/coordinator:0.1.0", "the coordinator image holds the CLI");
    const args = c.args ?? [];
    assert.equal(args[0], "eval-worker");
    assert.equal(args[args.indexOf("--nats") + 1], "$(MEDFCL_COORDINATOR_NATS)", "the coordinator's NATS, from its ConfigMap");
    assert.equal(args[args.indexOf("--coordinator") + 1], "medfcl-coordinator:7443");
    assert.equal(c.envFrom?.[0]?.configMapRef?.name, "medfcl-coordinator-env", "the same MEDFCL_COORDINATOR_EVAL_SETS as the coordinator");
    assert.ok(!pod.volumes?.some((v) => v.persistentVolumeClaim), "no state");
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === "/eval" && m.readOnly));
    const certs = pod.volumes?.find((v) => v.name === "certs");
    assert.equal(certs?.secret?.secretName, "medfcl-eval-worker-tls");
    // The Secret keeps the usual keys; the worker presents them as its evaluator certificate (role evaluator: model bytes only).
    assert.deepEqual(
      certs?.secret?.items?.map((i) => `${i.key}->${i.path}`).sort(),
      ["ca.crt->ca.crt", "tls.crt->evaluator.crt", "tls.key->evaluator.key"],
    );
    assert.deepEqual([args[args.indexOf("--tls-cert") + 1], args[args.indexOf("--tls-key") + 1]], ["/certs/evaluator.crt", "/certs/evaluator.key"]);
    const policies = byKind(objs, "NetworkPolicy");
    const select = (name: string) => policies.find((p) => (p.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels["app.kubernetes.io/name"] === name)!;
    const worker = select("medfcl-eval-worker").spec as { ingress: unknown[]; egress: Array<{ to: Array<{ podSelector?: { matchLabels?: Record<string, string> } }>; ports: Array<{ port: number }> }> };
    assert.deepEqual(worker.ingress, [], "nothing connects to a worker");
    const egress = worker.egress.map((e) => `${e.to[0].podSelector?.matchLabels?.["app.kubernetes.io/name"] ?? e.to[0].podSelector?.matchLabels?.["k8s-app"]}:${e.ports[0].port}`).sort();
    assert.deepEqual(egress, ["kube-dns:53", "medfcl-coordinator:7443", "medfcl-nats:4222"]);
    const natsIngress = (select("medfcl-nats").spec as { ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }> }).ingress;
    assert.ok(natsIngress.some((r) => r.from.some((f) => f.podSelector.matchLabels["app.kubernetes.io/name"] === "medfcl-eval-worker")), "NATS admits the workers");
  });

  it("k8s - overlays/hospital renders one agent: no Service, no ingress, egress only to the coordinator and DNS", { skip: renderSkip }, async () => {
    const objs = render("overlays/hospital");
    for (const o of objs) await validate(o);
    for (const o of objs) assert.equal(o.metadata.namespace, "medfcl-site");
    assertHardened(objs);
    assert.deepEqual(byKind(objs, "Service"), [], "the agent opens no port");
    const [dep] = byKind(objs, "Deployment", "medfcl-agent");
    assert.equal((dep.spec as { replicas: number; strategy: { type: string } }).replicas, 1);
    assert.equal((dep.spec as { strategy: { type: string } }).strategy.type, "Recreate", "never two agents for one site");
    const pod = podSpec(dep);
    assert.ok(pod);
    const c = pod.containers[0];
    assert.equal(c.image, "registry.example.org/medfcl/agent:0.1.0");
    assert.deepEqual(c.livenessProbe?.exec?.command, ["node", "/app/dist/cli/main.js", "agent", "health"]);
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === "/data" && m.readOnly));
    const data = pod.volumes?.find((v) => v.name === "data");
    assert.equal(data?.persistentVolumeClaim?.readOnly, true);
    const certs = pod.volumes?.find((v) => v.name === "certs");
    assert.deepEqual(certs?.secret?.items?.map((i) => i.path).sort(), ["ca.crt", "site.crt", "site.key"]);

    const [cm] = byKind(objs, "ConfigMap", "medfcl-agent-env") as Array<K8sObject & { data: Record<string, string> }>;
    assert.equal(cm.data.MEDFCL_AGENT_SITE_ID, "st-marys");
    assert.equal(cm.data.MEDFCL_AGENT_COORDINATOR, "fl.example.org:7443");

    const [policy] = byKind(objs, "NetworkPolicy", "medfcl-agent");
    const spec = policy.spec as { policyTypes: string[]; ingress: unknown[]; egress: Array<{ to: Array<{ ipBlock?: { cidr: string } }>; ports: Array<{ port: number }> }> };
    assert.deepEqual(spec.policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(spec.ingress, []);
    assert.equal(spec.egress.length, 2);
    assert.equal(spec.egress[0].to[0].ipBlock?.cidr, "203.0.113.10/32");
    assert.deepEqual(spec.egress[0].ports.map((p) => p.port), [7443]);
    assert.deepEqual(spec.egress[1].ports.map((p) => p.port), [53, 53]);
  });
});
