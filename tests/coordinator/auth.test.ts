import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { call, createSiteClient } from "../../site-agent/client.js";
import { createAdminClient, createCertificateAuthority, issueCoordinatorCertificate, issueSiteCertificate } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";

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
    for (const id of ["site-a", "site-b", "admin"]) {
      const c = issueSiteCertificate(authority, id, { keyBits: 2048 });
      certs[id] = { cert: file(`${id}.crt`, c.certPem), key: file(`${id}.key`, c.keyPem) };
    }
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

  it("coordinator - admin calls need the admin certificate", async () => {
    const asSite = createAdminClient(coord.address, { insecure: false, serverName: "localhost", tls: { ca, ...certs["site-a"] } });
    await assert.rejects(asSite.listRuns(), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED);
    asSite.close();
    const asAdmin = createAdminClient(coord.address, { insecure: false, serverName: "localhost", tls: { ca, ...certs.admin } });
    assert.deepEqual((await asAdmin.listRuns()).runs, []);
    asAdmin.close();
  });
});
