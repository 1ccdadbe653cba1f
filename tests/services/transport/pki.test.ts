import { strict as assert } from "node:assert";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PeerCertificate } from "node:tls";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Command } from "commander";
import { registerPki } from "../../../cli/commands/pki.js";
import { ErrorCode, isMedfclError, MedfclError } from "../../../services/errors/index.js";
import {
  assertRole,
  assertSiteIdentity,
  channelOptions,
  clientCredentials,
  describeCertificate,
  initCaDir,
  isIssuedBy,
  loadCaDir,
  medfclProto,
  peerSiteId,
  PKI_FILES,
  serverCredentials,
  serverOptions,
  writeCoordinatorCredentials,
  writeEvaluatorCredentials,
  writeSiteCredentials,
  type ServerCallIdentity,
  type TlsFiles,
} from "../../../services/transport/index.js";
import type { RegisterRequest__Output } from "../../../generated/medfcl/v1/RegisterRequest.js";
import type { RegisterResponse__Output } from "../../../generated/medfcl/v1/RegisterResponse.js";
import type { SiteServiceClient } from "../../../generated/medfcl/v1/SiteService.js";
import { tempDir } from "../../helpers/temp.js";

const DAY = 24 * 3600 * 1000;
// 2048-bit keys everywhere keep the suite fast (a 3072-bit key takes seconds on a busy 2-core machine).
const BITS = { keyBits: 2048 };

const root = tempDir("medfcl-pki-");
const dirs = {
  ca: join(root, "ca"),
  coordinator: join(root, "coordinator"),
  siteA: join(root, "site-a"),
  siteB: join(root, "site-b"),
  evaluator: join(root, "evaluator"),
  otherCa: join(root, "other-ca"),
  otherSiteA: join(root, "other-site-a"),
};

const STATUS_OF: Partial<Record<ErrorCode, grpc.status>> = {
  [ErrorCode.Unauthenticated]: grpc.status.UNAUTHENTICATED,
  [ErrorCode.PermissionDenied]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.InvalidArgument]: grpc.status.INVALID_ARGUMENT,
};

/** A server exposing the real SiteService definition; only Register is implemented, and it only checks identity. */
async function startServer(creds: grpc.ServerCredentials, insecure: boolean): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server(serverOptions());
  const register = (
    call: grpc.ServerUnaryCall<RegisterRequest__Output, RegisterResponse__Output>,
    callback: grpc.sendUnaryData<Partial<RegisterResponse__Output>>,
  ): void => {
    try {
      const siteId = assertSiteIdentity(call, call.request.site_id, insecure);
      callback(null, { session_id: `session-${siteId}` });
    } catch (err) {
      const code = isMedfclError(err) ? (STATUS_OF[err.code] ?? grpc.status.INTERNAL) : grpc.status.INTERNAL;
      callback({ code, details: (err as Error).message });
    }
  };
  server.addService(medfclProto().medfcl.v1.SiteService.service, { Register: register } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { port, server };
}

function tls(dir: string, leaf: "site" | "coordinator" | "evaluator" | null, caDir = dir): TlsFiles {
  return {
    ca: join(caDir, PKI_FILES.caCert),
    ...(leaf ? { cert: join(dir, `${leaf}.crt`), key: join(dir, `${leaf}.key`) } : {}),
  };
}

async function register(port: number, creds: grpc.ChannelCredentials, siteId: string): Promise<{ code: grpc.status; details: string; sessionId?: string }> {
  const Client = medfclProto().medfcl.v1.SiteService;
  const client = new Client(`127.0.0.1:${port}`, creds, channelOptions()) as unknown as SiteServiceClient;
  try {
    return await new Promise((resolve) => {
      client.Register({ site_id: siteId, agent_version: "test" }, { deadline: Date.now() + 5000 }, (err, res) => {
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: grpc.status.OK, details: "", sessionId: res?.session_id });
      });
    });
  } finally {
    client.close();
  }
}

before(() => {
  initCaDir(dirs.ca, BITS);
  writeCoordinatorCredentials(dirs.ca, ["coordinator", "localhost", "127.0.0.1"], dirs.coordinator, BITS);
  writeSiteCredentials(dirs.ca, "site-a", dirs.siteA, BITS);
  writeSiteCredentials(dirs.ca, "site-b", dirs.siteB, BITS);
  writeEvaluatorCredentials(dirs.ca, "eval-worker", dirs.evaluator, BITS);
  initCaDir(dirs.otherCa, BITS);
  writeSiteCredentials(dirs.otherCa, "site-a", dirs.otherSiteA, BITS);
});

after(() => rmSync(root, { recursive: true, force: true }));

describe("pki - files and certificates", () => {
  it("pki - init writes a self-signed 10-year CA and a 0600 key", () => {
    const key = join(dirs.ca, PKI_FILES.caKey);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const ca = describeCertificate(readFileSync(join(dirs.ca, PKI_FILES.caCert)));
    assert.equal(ca.isCa, true);
    assert.equal(ca.role, null, "the CA has no client role");
    assert.equal(ca.subjectCN, "medfcl CA");
    assert.equal(ca.issuerCN, "medfcl CA");
    const years = (ca.notAfter.getTime() - ca.notBefore.getTime()) / (365.25 * DAY);
    assert.ok(years > 9.98 && years < 10.01, `${years} years`);
    assert.ok(ca.notBefore.getTime() <= Date.now());
    assert.ok(isIssuedBy(readFileSync(join(dirs.ca, PKI_FILES.caCert)), readFileSync(join(dirs.ca, PKI_FILES.caCert))), "self-signed");
    assert.doesNotThrow(() => loadCaDir(dirs.ca));
  });

  it("pki - a site certificate has CN = site id, clientAuth only, 2 years, signed by the CA", () => {
    const pem = readFileSync(join(dirs.siteA, PKI_FILES.siteCert));
    const s = describeCertificate(pem);
    assert.equal(s.subjectCN, "site-a");
    assert.equal(s.isCa, false);
    assert.deepEqual(s.extKeyUsage, ["clientAuth"]);
    assert.equal(s.role, "site");
    const days = (s.notAfter.getTime() - s.notBefore.getTime()) / DAY;
    assert.ok(Math.abs(days - 730) < 0.01, `${days} days`);
    assert.equal(statSync(join(dirs.siteA, PKI_FILES.siteKey)).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(join(dirs.siteA, PKI_FILES.caCert)), readFileSync(join(dirs.ca, PKI_FILES.caCert)), "ca.crt is copied");
    assert.equal(existsSync(join(dirs.siteA, PKI_FILES.caKey)), false, "the CA key never leaves the CA directory");
    assert.ok(isIssuedBy(pem, readFileSync(join(dirs.ca, PKI_FILES.caCert))));
    assert.equal(isIssuedBy(pem, readFileSync(join(dirs.otherCa, PKI_FILES.caCert))), false);
  });

  it("pki - the coordinator certificate carries DNS and IP SANs and serverAuth", () => {
    const s = describeCertificate(readFileSync(join(dirs.coordinator, PKI_FILES.coordinatorCert)));
    assert.equal(s.subjectCN, "coordinator");
    assert.deepEqual(s.dnsNames, ["coordinator", "localhost"]);
    assert.deepEqual(s.ipAddresses, ["127.0.0.1"]);
    assert.deepEqual(s.extKeyUsage, ["serverAuth"]);
  });

  it("pki - existing keys are not overwritten without force", () => {
    const before = readFileSync(join(dirs.siteA, PKI_FILES.siteKey), "utf8");
    assert.throws(
      () => writeSiteCredentials(dirs.ca, "site-a", dirs.siteA, BITS),
      (err: unknown) => err instanceof MedfclError && err.code === ErrorCode.AlreadyExists && /--force/.test(err.message) && err.message.includes("site.key"),
    );
    assert.throws(() => initCaDir(dirs.ca, BITS), (err: unknown) => err instanceof MedfclError && err.code === ErrorCode.AlreadyExists);
    assert.equal(readFileSync(join(dirs.siteA, PKI_FILES.siteKey), "utf8"), before);

    const scratch = join(root, "scratch");
    writeSiteCredentials(dirs.ca, "site-c", scratch, BITS);
    const first = readFileSync(join(scratch, PKI_FILES.siteKey), "utf8");
    writeSiteCredentials(dirs.ca, "site-c", scratch, { ...BITS, force: true });
    assert.notEqual(readFileSync(join(scratch, PKI_FILES.siteKey), "utf8"), first, "--force replaces the key");
  });

  it("pki - bad site ids, hosts and CA directories are refused with clear errors", () => {
    for (const bad of ["", "Site-A", "a b", "-x", "a*", "x".repeat(64)]) {
      assert.throws(() => writeSiteCredentials(dirs.ca, bad, join(root, "bad"), BITS), (err: unknown) => err instanceof MedfclError && err.code === ErrorCode.InvalidArgument, bad);
    }
    assert.throws(() => writeCoordinatorCredentials(dirs.ca, ["ok", "no spaces"], join(root, "bad"), BITS), /neither a DNS name nor an IP/);
    assert.throws(() => writeSiteCredentials(join(root, "missing"), "site-z", join(root, "bad"), BITS), (err: unknown) => err instanceof MedfclError && err.code === ErrorCode.NotFound && /ca\.crt/.test(err.message));
    assert.equal(existsSync(join(root, "bad")), false, "nothing is written when the input is bad");
  });
});

describe("pki - mTLS identity on a real gRPC server", () => {
  let server: grpc.Server;
  let port: number;
  before(async () => {
    ({ server, port } = await startServer(serverCredentials(tls(dirs.coordinator, "coordinator"), false), false));
  });
  after(() => server.forceShutdown());

  it("pki - a site acting as itself is accepted", async () => {
    const res = await register(port, clientCredentials(tls(dirs.siteA, "site"), false), "site-a");
    assert.equal(res.code, grpc.status.OK, res.details);
    assert.equal(res.sessionId, "session-site-a");
    const resB = await register(port, clientCredentials(tls(dirs.siteB, "site"), false), "site-b");
    assert.equal(resB.code, grpc.status.OK, resB.details);
  });

  it("pki - a site claiming another site's id gets PERMISSION_DENIED", async () => {
    const res = await register(port, clientCredentials(tls(dirs.siteA, "site"), false), "site-b");
    assert.equal(res.code, grpc.status.PERMISSION_DENIED);
    assert.match(res.details, /site "site-a" cannot act for site "site-b"/);
  });

  it("pki - a client without a certificate is refused", async () => {
    const res = await register(port, clientCredentials(tls(dirs.siteA, null), false), "site-a");
    assert.ok([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED].includes(res.code), `got ${grpc.status[res.code]}: ${res.details}`);
  });

  it("pki - a certificate from another CA is refused", async () => {
    // Trusts the right server CA, but presents a site-a certificate signed by a foreign CA.
    const res = await register(port, clientCredentials(tls(dirs.otherSiteA, "site", dirs.ca), false), "site-a");
    assert.ok([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED].includes(res.code), `got ${grpc.status[res.code]}: ${res.details}`);
  });

  it("pki - an evaluator certificate cannot act for a site, not even one named like its CN", async () => {
    for (const claim of ["eval-worker", "site-a"]) {
      const res = await register(port, clientCredentials(tls(dirs.evaluator, "evaluator"), false), claim);
      assert.equal(res.code, grpc.status.PERMISSION_DENIED, res.details);
      assert.match(res.details, /"eval-worker" has role evaluator and cannot act for a site; .*medfcl pki issue-site/);
    }
  });

  it("pki - the coordinator's server certificate identifies no site", async () => {
    const res = await register(port, clientCredentials(tls(dirs.coordinator, "coordinator"), false), "coordinator");
    assert.ok([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED].includes(res.code), `got ${grpc.status[res.code]}: ${res.details}`);
  });

  it("pki - a client that trusts another CA does not accept the coordinator", async () => {
    const res = await register(port, clientCredentials(tls(dirs.otherSiteA, "site"), false), "site-a");
    assert.equal(res.code, grpc.status.UNAVAILABLE, res.details);
  });
});

describe("pki - identity without mTLS", () => {
  const noTls: ServerCallIdentity = { getAuthContext: () => ({}), getPeer: () => "ipv4:127.0.0.1:1" };

  it("pki - insecure mode trusts the claim; secure mode without a certificate is UNAUTHENTICATED", () => {
    assert.equal(peerSiteId(noTls), null);
    assert.equal(assertSiteIdentity(noTls, "site-a", true), "site-a");
    assert.throws(() => assertSiteIdentity(noTls, "site-a", false), (err: unknown) => err instanceof MedfclError && err.code === ErrorCode.Unauthenticated);
    assert.throws(() => assertSiteIdentity(noTls, "", true), (err: unknown) => err instanceof MedfclError && err.code === ErrorCode.InvalidArgument);
  });

  it("pki - a verified certificate without clientAuth usage identifies no site", () => {
    const withCert = (cert: Partial<PeerCertificate>): ServerCallIdentity => ({
      getAuthContext: () => ({ transportSecurityType: "ssl", sslPeerCertificate: cert as PeerCertificate }),
      getPeer: () => "ipv4:127.0.0.1:2",
    });
    const clientAuth = "1.3.6.1.5.5.7.3.2";
    const serverAuth = "1.3.6.1.5.5.7.3.1";
    assert.equal(peerSiteId(withCert({ subject: { CN: "site-a" } as PeerCertificate["subject"], ext_key_usage: [clientAuth] })), "site-a");
    assert.equal(peerSiteId(withCert({ subject: { CN: "site-a" } as PeerCertificate["subject"], ext_key_usage: [serverAuth] })), null);
    assert.equal(peerSiteId(withCert({ subject: { CN: ["a", "b"] } as unknown as PeerCertificate["subject"], ext_key_usage: [clientAuth] })), null, "a repeated CN is ambiguous");
    assert.throws(
      () => assertSiteIdentity(withCert({ subject: { CN: "site-a" } as PeerCertificate["subject"], ext_key_usage: [serverAuth] }), "site-a", false),
      (err: unknown) => err instanceof MedfclError && err.code === ErrorCode.Unauthenticated,
    );
  });

  it("pki - assertRole lets the allowed roles through and refuses the others, naming the RPC, the role it needs and the command", () => {
    const clientAuth = "1.3.6.1.5.5.7.3.2";
    const as = (cn: string, ou?: string): ServerCallIdentity => ({
      getAuthContext: () => ({ transportSecurityType: "ssl", sslPeerCertificate: { subject: { CN: cn, ...(ou ? { OU: ou } : {}) }, ext_key_usage: [clientAuth] } as unknown as PeerCertificate }),
      getPeer: () => "ipv4:127.0.0.1:3",
      getPath: () => "/medfcl.v1.AdminService/PullModelVersion",
    });
    const refused = (code: ErrorCode, pattern: RegExp) => (err: unknown) => err instanceof MedfclError && err.code === code && pattern.test(err.message);
    assert.deepEqual(assertRole(as("w1", "medfcl-evaluator"), false, ["evaluator", "admin"]), { id: "w1", role: "evaluator" });
    assert.deepEqual(assertRole(as("ops", "medfcl-admin"), false, ["evaluator", "admin"]), { id: "ops", role: "admin" });
    assert.throws(
      () => assertRole(as("w1", "medfcl-evaluator"), false, ["admin"]),
      refused(ErrorCode.PermissionDenied, /^certificate "w1" has role evaluator; AdminService\.PullModelVersion needs a certificate with role admin \(issue one with `medfcl pki issue-admin --ca CA_DIR --name w1 --out DIR`\)$/),
    );
    assert.throws(() => assertRole(as("site-a", "medfcl-site"), false, ["evaluator", "admin"]), refused(ErrorCode.PermissionDenied, /role evaluator or admin .*medfcl pki issue-evaluator .*medfcl pki issue-admin/));
    assert.throws(() => assertRole(as("admin"), false, ["admin"]), refused(ErrorCode.PermissionDenied, /carries no medfcl role/));
    assert.throws(() => assertRole(noTls, false, ["evaluator"]), refused(ErrorCode.Unauthenticated, /^this call needs a client certificate with role evaluator: `medfcl pki issue-evaluator/));
    assert.equal(assertRole(noTls, true, ["admin"]), null, "insecure mode checks nothing");
  });

  it("pki - an insecure gRPC server accepts the claimed id", async () => {
    const { server, port } = await startServer(grpc.ServerCredentials.createInsecure(), true);
    try {
      const res = await register(port, grpc.credentials.createInsecure(), "site-b");
      assert.equal(res.code, grpc.status.OK, res.details);
      assert.equal(res.sessionId, "session-site-b");
    } finally {
      server.forceShutdown();
    }
  });
});

describe("pki - CLI", () => {
  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const program = new Command("medfcl").exitOverride();
    let out = "";
    let err = "";
    program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    registerPki(program);
    const write = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    const saved = process.exitCode;
    process.exitCode = 0;
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      await program.parseAsync(["node", "medfcl", ...args]);
    } catch (e) {
      if (!(e instanceof Error && "exitCode" in e && e.exitCode === 0)) throw e;
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeErr;
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = saved;
    return { code, out, err };
  }

  it("pki - every command's --help shows an example", async () => {
    for (const sub of ["init", "issue-site", "issue-admin", "issue-evaluator", "issue-coordinator", "show"]) {
      const { out } = await run(["pki", sub, "--help"]);
      assert.match(out, new RegExp(`Examples:\\n\\s+\\$ medfcl pki ${sub}`), sub);
    }
  });

  it("pki - init, issue-site, issue-admin, issue-evaluator and issue-coordinator write their files; a second init is refused", async () => {
    const dir = tempDir("medfcl-pki-cli-");
    try {
      const init = await run(["pki", "init", "--out", join(dir, "ca"), "--bits", "2048"]);
      assert.equal(init.code, 0, init.err);
      assert.match(init.out, /wrote .*ca\.key/);
      const site = await run(["pki", "issue-site", "--ca", join(dir, "ca"), "--site", "site-q", "--out", join(dir, "q")]);
      assert.equal(site.code, 0, site.err);
      assert.equal(describeCertificate(readFileSync(join(dir, "q", "site.crt"))).subjectCN, "site-q");
      assert.equal(describeCertificate(readFileSync(join(dir, "q", "site.crt"))).role, "site");
      const admin = await run(["pki", "issue-admin", "--ca", join(dir, "ca"), "--name", "ops", "--out", join(dir, "a")]);
      assert.equal(admin.code, 0, admin.err);
      assert.match(admin.out, /role\s+admin/);
      const adminCert = describeCertificate(readFileSync(join(dir, "a", PKI_FILES.adminCert)));
      assert.deepEqual([adminCert.subjectCN, adminCert.role, adminCert.extKeyUsage], ["ops", "admin", ["clientAuth"]]);
      assert.equal(statSync(join(dir, "a", PKI_FILES.adminKey)).mode & 0o777, 0o600);
      const shown = await run(["pki", "show", join(dir, "q", "site.crt")]);
      assert.match(shown.out, /role\s+site/);
      const evaluator = await run(["pki", "issue-evaluator", "--ca", join(dir, "ca"), "--name", "eval-worker", "--out", join(dir, "e")]);
      assert.equal(evaluator.code, 0, evaluator.err);
      assert.match(evaluator.out, /wrote .*evaluator\.crt\nwrote .*evaluator\.key\nwrote .*ca\.crt/);
      const evaluatorCert = describeCertificate(readFileSync(join(dir, "e", PKI_FILES.evaluatorCert)));
      assert.deepEqual([evaluatorCert.subjectCN, evaluatorCert.role, evaluatorCert.extKeyUsage], ["eval-worker", "evaluator", ["clientAuth"]]);
      assert.ok(isIssuedBy(readFileSync(join(dir, "e", PKI_FILES.evaluatorCert)), readFileSync(join(dir, "ca", PKI_FILES.caCert))));
      assert.equal(statSync(join(dir, "e", PKI_FILES.evaluatorKey)).mode & 0o777, 0o600);
      assert.equal(readFileSync(join(dir, "e", PKI_FILES.caCert), "utf8"), readFileSync(join(dir, "ca", PKI_FILES.caCert), "utf8"));
      assert.match((await run(["pki", "show", join(dir, "e", PKI_FILES.evaluatorCert)])).out, /role\s+evaluator/);
      const evaluatorAgain = await run(["pki", "issue-evaluator", "--ca", join(dir, "ca"), "--name", "eval-worker", "--out", join(dir, "e")]);
      assert.equal(evaluatorAgain.code, 1);
      assert.match(evaluatorAgain.err, /evaluator\.(key|crt).*refusing to overwrite keys/);
      const badEvaluator = await run(["pki", "issue-evaluator", "--ca", join(dir, "ca"), "--name", "Eval Worker", "--out", join(dir, "x")]);
      assert.equal(badEvaluator.code, 2, "an invalid evaluator name is a usage error");
      assert.match(badEvaluator.err, /evaluator name "Eval Worker" is invalid/);
      const coord = await run(["pki", "issue-coordinator", "--ca", join(dir, "ca"), "--hosts", "coordinator,localhost,127.0.0.1", "--out", join(dir, "c")]);
      assert.equal(coord.code, 0, coord.err);
      assert.match(coord.out, /alt names\s+DNS:coordinator, DNS:localhost, IP:127\.0\.0\.1/);
      const again = await run(["pki", "init", "--out", join(dir, "ca"), "--bits", "2048"]);
      assert.equal(again.code, 1);
      assert.match(again.err, /refusing to overwrite keys.*--force/);
      const badSite = await run(["pki", "issue-site", "--ca", join(dir, "ca"), "--site", "Bad Site", "--out", join(dir, "x")]);
      assert.equal(badSite.code, 2, "an invalid site id is a usage error");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
