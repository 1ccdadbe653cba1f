import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { call, createSiteClient } from "../../site-agent/client.js";
import forge from "node-forge";
import { createAdminClient, createCertificateAuthority, issueAdminCertificate, issueCoordinatorCertificate, issueSiteCertificate, type CertificateBundle } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";

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
  const dir = mkdtempSync(join(tmpdir(), "medfcl-auth-"));
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
});
