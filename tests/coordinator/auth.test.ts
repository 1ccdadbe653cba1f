import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { call, createSiteClient } from "../../site-agent/client.js";
import forge from "node-forge";
import {
  createAdminClient,
  createCertificateAuthority,
  issueAdminCertificate,
  issueCoordinatorCertificate,
  issueEvaluatorCertificate,
  issueSiteCertificate,
  type AdminClient,
  type CertificateBundle,
} from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

/** A client certificate as the release before roles issued it: CN and O only, no OU. */
function legacyClientCertificate(ca: CertificateBundle, cn: string): CertificateBundle {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = "4a01";
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([
    { shortName: "CN", value: cn },
    { shortName: "O", value: "medfcl" },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", clientAuth: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKey };
}

describe("coordinator - mTLS identity", () => {
  const dir = tempDir("medfcl-auth-");
  const file = (name: string, pem: string): string => {
    writeFileSync(join(dir, name), pem);
    return join(dir, name);
  };
  let coord: RunningCoordinator;
  let ca: string;
  const certs: Record<string, { cert: string; key: string }> = {};

  before(async () => {
    const authority = createCertificateAuthority({ keyBits: 2048 });
    ca = file("ca.crt", authority.certPem);
    const server = issueCoordinatorCertificate(authority, ["localhost", "127.0.0.1"], { keyBits: 2048 });
    for (const id of ["site-a", "site-b", "admin-hospital"]) {
      const c = issueSiteCertificate(authority, id, { keyBits: 2048 });
      certs[id] = { cert: file(`${id}.crt`, c.certPem), key: file(`${id}.key`, c.keyPem) };
    }
    const admin = issueAdminCertificate(authority, "ops", { keyBits: 2048 });
    certs.admin = { cert: file("admin.crt", admin.certPem), key: file("admin.key", admin.keyPem) };
    const evaluator = issueEvaluatorCertificate(authority, "eval-worker", { keyBits: 2048 });
    certs.evaluator = { cert: file("evaluator.crt", evaluator.certPem), key: file("evaluator.key", evaluator.keyPem) };
    const legacy = legacyClientCertificate(authority, "admin");
    certs.legacyAdmin = { cert: file("legacy-admin.crt", legacy.certPem), key: file("legacy-admin.key", legacy.keyPem) };
    const stranger = issueSiteCertificate(createCertificateAuthority({ keyBits: 2048 }), "site-a", { keyBits: 2048 });
    certs.stranger = { cert: file("stranger.crt", stranger.certPem), key: file("stranger.key", stranger.keyPem) };
    coord = await startTestCoordinator({ insecure: false, tls: { ca, cert: file("coord.crt", server.certPem), key: file("coord.key", server.keyPem) } });
  });

  after(async () => {
    await coord.close();
  });

  const register = (who: keyof typeof certs | null, claim: string): Promise<unknown> => {
    const client = createSiteClient({ address: coord.address, insecure: false, serverName: "localhost", tls: who ? { ca, ...certs[who] } : { ca } });
    return call(client.Register.bind(client), { site_id: claim, agent_version: "t", manifest: testManifest(`dom-${claim}`), backend: "wasm" }, 10_000).finally(() => client.close());
  };

  it("coordinator - a site registers with its own certificate", async () => {
    const res = (await register("site-a", "site-a")) as { session_id: string };
    assert.ok(res.session_id);
  });

  it("coordinator - another site's certificate is refused with PERMISSION_DENIED", async () => {
    await assert.rejects(register("site-b", "site-a"), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && /site-b/.test(err.details));
  });

  it("coordinator - an agent without a certificate is refused", async () => {
    await assert.rejects(register(null, "site-a"), (err: grpc.ServiceError) => [grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED].includes(err.code));
  });

  it("coordinator - a certificate from another CA is refused", async () => {
    await assert.rejects(register("stranger", "site-a"), (err: grpc.ServiceError) => [grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED].includes(err.code));
  });

  it("coordinator - a site certificate for site id admin-hospital is refused on AdminService with PERMISSION_DENIED", async () => {
    const asSite = createAdminClient(coord.address, { insecure: false, serverName: "localhost", tls: { ca, ...certs["admin-hospital"] } });
    await assert.rejects(asSite.listRuns(), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && /"admin-hospital" has role site/.test(err.details));
    await assert.rejects(asSite.createRun({ name: "r", strategy: "sequential", sites: ["admin-hospital"] }), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED);
    asSite.close();
    // It is still a site: it registers as itself.
    assert.ok(((await register("admin-hospital", "admin-hospital")) as { session_id: string }).session_id);
  });

  it("coordinator - a certificate of the previous release (no role) is no admin even with CN admin, and the refusal says how to reissue", async () => {
    const legacy = createAdminClient(coord.address, { insecure: false, serverName: "localhost", tls: { ca, ...certs.legacyAdmin } });
    await assert.rejects(legacy.listRuns(), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && /no medfcl role/.test(err.details) && /medfcl pki issue-admin/.test(err.details));
    legacy.close();
  });

  it("coordinator - an admin certificate cannot act for a site, even one with its CN", async () => {
    await assert.rejects(register("admin", "ops"), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && /role admin/.test(err.details));
  });

  it("coordinator - admin calls need the admin certificate", async () => {
    const asSite = createAdminClient(coord.address, { insecure: false, serverName: "localhost", tls: { ca, ...certs["site-a"] } });
    await assert.rejects(asSite.listRuns(), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED);
    asSite.close();
    const asAdmin = createAdminClient(coord.address, { insecure: false, serverName: "localhost", tls: { ca, ...certs.admin } });
    assert.deepEqual((await asAdmin.listRuns()).runs, []);
    asAdmin.close();
  });

  const adminClientAs = (who: keyof typeof certs): AdminClient => createAdminClient(coord.address, { insecure: false, serverName: "localhost", tls: { ca, ...certs[who] } });
  /** A refusal for the evaluator certificate on an admin-only RPC, naming the RPC, the role it needs and how to get one. */
  const evaluatorRefused = (rpc: string) => (err: grpc.ServiceError) =>
    err.code === grpc.status.PERMISSION_DENIED &&
    err.details.includes(`certificate "eval-worker" has role evaluator; AdminService.${rpc} needs a certificate with role admin`) &&
    err.details.includes("medfcl pki issue-admin");

  it("coordinator - an evaluator certificate fetches a model version with PullModelVersion", async () => {
    const bytes = randomBytes(200_000);
    const version = coord.ctx.blobs.put(bytes);
    const asEvaluator = adminClientAs("evaluator");
    try {
      assert.ok((await asEvaluator.pullModelVersion(version)).equals(bytes));
    } finally {
      asEvaluator.close();
    }
  });

  it("coordinator - an evaluator certificate is refused CreateRun, GetRun, ListRuns and GetAudit with PERMISSION_DENIED, and creates nothing", async () => {
    const asEvaluator = adminClientAs("evaluator");
    try {
      await assert.rejects(asEvaluator.createRun({ name: "by-evaluator", strategy: "sequential", sites: ["site-a"], model: "nano" }), evaluatorRefused("CreateRun"));
      await assert.rejects(asEvaluator.getRun("by-evaluator"), evaluatorRefused("GetRun"));
      await assert.rejects(asEvaluator.listRuns(), evaluatorRefused("ListRuns"));
      await assert.rejects(asEvaluator.getAudit("by-evaluator"), evaluatorRefused("GetAudit"));
    } finally {
      asEvaluator.close();
    }
    const asAdmin = adminClientAs("admin");
    try {
      assert.deepEqual((await asAdmin.listRuns()).runs, [], "the refused CreateRun left no run behind");
    } finally {
      asAdmin.close();
    }
  });

  it("coordinator - an evaluator certificate is refused on SiteService, even for a site id equal to its CN", async () => {
    await assert.rejects(register("evaluator", "eval-worker"), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && /"eval-worker" has role evaluator and cannot act for a site/.test(err.details));
    await assert.rejects(register("evaluator", "site-a"), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && /role evaluator/.test(err.details));
  });

  it("coordinator - a site certificate is refused PullModelVersion, and the refusal names the evaluator certificate", async () => {
    const version = coord.ctx.blobs.put(randomBytes(1000));
    const asSite = adminClientAs("site-a");
    try {
      await assert.rejects(
        asSite.pullModelVersion(version),
        (err: grpc.ServiceError) =>
          err.code === grpc.status.PERMISSION_DENIED && /"site-a" has role site; AdminService\.PullModelVersion needs a certificate with role evaluator or admin/.test(err.details) && /medfcl pki issue-evaluator/.test(err.details),
      );
    } finally {
      asSite.close();
    }
  });

  it("coordinator - an admin certificate still calls every AdminService RPC: CreateRun, GetRun, ListRuns, GetAudit and PullModelVersion", async () => {
    await register("site-a", "site-a");
    const asAdmin = adminClientAs("admin");
    try {
      const run = await asAdmin.createRun({ name: "by-admin", strategy: "sequential", sites: ["site-a"], model: "nano", seed: 1 });
      assert.equal((await asAdmin.getRun(run.run_id)).name, "by-admin");
      assert.deepEqual((await asAdmin.listRuns()).runs.map((r) => r.name), ["by-admin"]);
      assert.equal((await asAdmin.getAudit(run.run_id)).run_id, run.run_id);
      const bytes = randomBytes(5000);
      assert.ok((await asAdmin.pullModelVersion(coord.ctx.blobs.put(bytes))).equals(bytes));
    } finally {
      asAdmin.close();
    }
  });
});
