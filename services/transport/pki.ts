import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import forge from "node-forge";
import { ErrorCode, MedfclError, errorMessage } from "../errors/index.js";
import { writeFileAtomicSync } from "../store/index.js";

/**
 * A small PKI for medfcl's mTLS: one self-signed CA per federation, a client certificate per site
 * (CN = site id, the identity the coordinator trusts), client certificates for administrators and
 * for central eval workers, and a server certificate for the coordinator. A client certificate's
 * role (site, admin or evaluator) is written into its subject as OU, signed by the CA, so authority
 * never depends on how an id is spelled.
 * Keys come from Node's native RSA key generation; node-forge only assembles and signs the X.509
 * structures.
 */

/** File names inside the directories `medfcl pki` writes. */
export const PKI_FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  siteCert: "site.crt",
  siteKey: "site.key",
  adminCert: "admin.crt",
  adminKey: "admin.key",
  evaluatorCert: "evaluator.crt",
  evaluatorKey: "evaluator.key",
  coordinatorCert: "coordinator.crt",
  coordinatorKey: "coordinator.key",
} as const;

/** Site ids as the config schema allows them (services/config/schema.ts, agent.siteId). */
export const SITE_ID_PATTERN = /^[a-z0-9][a-z0-9-_.]{0,62}$/;

/**
 * What a client certificate may do, written by `medfcl pki` as the subject's OU. Only the holder of
 * the CA key can set it, and the coordinator reads nothing else to grant AdminService.
 * - site: SiteService, for the site its CN names;
 * - admin: every AdminService RPC (create runs, read audits, fetch model versions);
 * - evaluator: AdminService.PullModelVersion only, the one call a central eval worker makes, so a
 *   worker's key cannot create runs or read audits.
 */
export const CERTIFICATE_ROLES = ["site", "admin", "evaluator"] as const;
export type CertificateRole = (typeof CERTIFICATE_ROLES)[number];

/** The subject OU that carries a role; a prefix keeps it apart from any OU an organisation might use. */
export function roleUnit(role: CertificateRole): string {
  return `medfcl-${role}`;
}

/** The role an OU value names, or null when it names none (certificates of earlier releases carry no role). */
export function roleFromUnit(unit: unknown): CertificateRole | null {
  if (typeof unit !== "string") return null;
  return CERTIFICATE_ROLES.find((r) => roleUnit(r) === unit) ?? null;
}

const OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
/** Issued certificates start a few minutes in the past so that small clock skew between hosts is harmless. */
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateBundle {
  /** PEM certificate. */
  certPem: string;
  /** PEM private key (PKCS#8). */
  keyPem: string;
}

export interface CaOptions {
  /** Subject CN of the CA. Default "medfcl CA". */
  commonName?: string;
  /** Default 3650 (10 years). */
  validityDays?: number;
  /** RSA modulus bits. Default 3072. */
  keyBits?: number;
  /** Clock for the validity window; tests pin it. */
  now?: Date;
}

export interface LeafOptions {
  /** Default 730 (2 years); never beyond the CA's own expiry. */
  validityDays?: number;
  /** RSA modulus bits. Default 2048. */
  keyBits?: number;
  now?: Date;
}

export function defaultCaOptions(): Required<Omit<CaOptions, "now">> {
  return { commonName: "medfcl CA", validityDays: 3650, keyBits: 3072 };
}

export function defaultLeafOptions(): Required<Omit<LeafOptions, "now">> {
  return { validityDays: 730, keyBits: 2048 };
}

function invalid(message: string, details: Record<string, unknown>): MedfclError {
  return new MedfclError(ErrorCode.InvalidArgument, message, { details });
}

function checkDays(days: number, option: string): number {
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw invalid(`${option} must be a whole number of days between 1 and 36500, got ${days}`, { option, value: days });
  return days;
}

function checkBits(bits: number): number {
  if (![2048, 3072, 4096].includes(bits)) throw invalid(`RSA key size must be 2048, 3072 or 4096 bits, got ${bits}`, { option: "keyBits", value: bits });
  return bits;
}

export function assertSiteId(siteId: string): string {
  if (!SITE_ID_PATTERN.test(siteId)) {
    throw invalid(`site id "${siteId}" is invalid: use lowercase letters, digits, '-', '_' or '.', starting with a letter or digit, at most 63 characters`, {
      siteId,
    });
  }
  return siteId;
}

/** Splits "coordinator,localhost,127.0.0.1" and checks each entry is a DNS name or an IP address. */
export function parseHosts(list: string | string[]): string[] {
  const hosts = (Array.isArray(list) ? list : list.split(",")).map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0) throw invalid("no hosts given; pass e.g. --hosts coordinator,localhost,127.0.0.1", { hosts: list });
  for (const h of hosts) {
    const dns = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(h) && h.length <= 253;
    if (!isIP(h) && !dns) throw invalid(`host "${h}" is neither a DNS name nor an IP address`, { host: h });
  }
  return [...new Set(hosts)];
}

function generateRsaKey(bits: number): { publicPem: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: checkBits(bits),
    publicExponent: 0x10001,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { publicPem: publicKey, privatePem: privateKey };
}

/** 16 random bytes as a positive DER integer (RFC 5280 §4.1.2.2: ≤ 20 octets, positive). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes.toString("hex");
}

function validity(cert: forge.pki.Certificate, now: Date, days: number, notAfterCap?: Date): void {
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  let notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  if (notAfterCap && notAfter > notAfterCap) notAfter = notAfterCap;
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
}

function parseCa(ca: CertificateBundle): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  try {
    return {
      cert: forge.pki.certificateFromPem(ca.certPem),
      key: forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey,
    };
  } catch (err) {
    throw new MedfclError(ErrorCode.InvalidArgument, `the CA certificate or key cannot be read (${errorMessage(err)}); the CA must be an RSA CA made by \`medfcl pki init\``, {
      cause: err,
    });
  }
}

/** A self-signed CA that may sign end-entity certificates only (pathLen 0). */
export function createCertificateAuthority(options: CaOptions = {}): CertificateBundle {
  const opts = { ...defaultCaOptions(), ...options };
  const { publicPem, privatePem } = generateRsaKey(opts.keyBits);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = randomSerial();
  validity(cert, opts.now ?? new Date(), checkDays(opts.validityDays, "validityDays"));
  const subject = [
    { shortName: "CN", value: opts.commonName },
    { shortName: "O", value: "medfcl" },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privatePem };
}

interface LeafSpec {
  commonName: string;
  role?: CertificateRole;
  eku: "clientAuth" | "serverAuth";
  altNames?: Array<{ type: 2; value: string } | { type: 7; ip: string }>;
}

function issueLeaf(ca: CertificateBundle, spec: LeafSpec, options: LeafOptions): CertificateBundle {
  const opts = { ...defaultLeafOptions(), ...options };
  const { cert: caCert, key: caKey } = parseCa(ca);
  const { publicPem, privatePem } = generateRsaKey(opts.keyBits);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = randomSerial();
  validity(cert, opts.now ?? new Date(), checkDays(opts.validityDays, "validityDays"), caCert.validity.notAfter);
  cert.setSubject([
    { shortName: "CN", value: spec.commonName },
    { shortName: "O", value: "medfcl" },
    ...(spec.role ? [{ shortName: "OU", value: roleUnit(spec.role) }] : []),
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const extensions: object[] = [
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", [spec.eku]: true },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (spec.altNames?.length) extensions.push({ name: "subjectAltName", altNames: spec.altNames });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privatePem };
}

/** A client certificate whose CN is the site id (the identity the coordinator checks every call against), role site. */
export function issueSiteCertificate(ca: CertificateBundle, siteId: string, options: LeafOptions = {}): CertificateBundle {
  return issueLeaf(ca, { commonName: assertSiteId(siteId), eku: "clientAuth", role: "site" }, options);
}

/** A client certificate with role admin: it may call AdminService and can act for no site. The CN names the operator. */
export function issueAdminCertificate(ca: CertificateBundle, adminName: string, options: LeafOptions = {}): CertificateBundle {
  return issueLeaf(ca, { commonName: assertAdminName(adminName), eku: "clientAuth", role: "admin" }, options);
}

/**
 * A client certificate with role evaluator: it may fetch model versions (AdminService.PullModelVersion)
 * for `medfcl eval-worker` and nothing else; it can neither act for a site nor manage runs. The CN names the worker.
 */
export function issueEvaluatorCertificate(ca: CertificateBundle, evaluatorName: string, options: LeafOptions = {}): CertificateBundle {
  return issueLeaf(ca, { commonName: assertEvaluatorName(evaluatorName), eku: "clientAuth", role: "evaluator" }, options);
}

function assertHolderName(name: string, what: "admin" | "evaluator", field: string): string {
  if (!SITE_ID_PATTERN.test(name)) {
    throw invalid(`${what} name "${name}" is invalid: use lowercase letters, digits, '-', '_' or '.', starting with a letter or digit, at most 63 characters`, { [field]: name });
  }
  return name;
}

export function assertAdminName(name: string): string {
  return assertHolderName(name, "admin", "adminName");
}

export function assertEvaluatorName(name: string): string {
  return assertHolderName(name, "evaluator", "evaluatorName");
}

/** A server certificate for the coordinator; every host becomes a DNS or IP SAN, the first is also the CN. */
export function issueCoordinatorCertificate(ca: CertificateBundle, hosts: string[], options: LeafOptions = {}): CertificateBundle {
  const list = parseHosts(hosts);
  const altNames = list.map((h) => (isIP(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h }));
  return issueLeaf(ca, { commonName: list[0], eku: "serverAuth", altNames }, options);
}

export interface CertificateSummary {
  subjectCN: string;
  issuerCN: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  /** Extended key usages by name ("serverAuth", "clientAuth") or OID when unknown. */
  extKeyUsage: string[];
  fingerprint256: string;
  /** The medfcl role of a client certificate; null for the CA, the coordinator and certificates of earlier releases. */
  role: CertificateRole | null;
}

function cnOf(dn: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? "";
}

function ouOf(dn: string): string {
  return /(?:^|\n)OU=([^\n]*)/.exec(dn)?.[1] ?? "";
}

/** What a certificate says, read with Node's own X.509 parser (independent of how it was made). */
export function describeCertificate(pem: string | Buffer): CertificateSummary {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (err) {
    throw new MedfclError(ErrorCode.InvalidArgument, `not a PEM certificate: ${errorMessage(err)}`, { cause: err });
  }
  const sans = (x.subjectAltName ?? "").split(/,\s*/).filter(Boolean);
  const ekuNames: Record<string, string> = { [OID_SERVER_AUTH]: "serverAuth", [OID_CLIENT_AUTH]: "clientAuth" };
  return {
    subjectCN: cnOf(x.subject),
    issuerCN: cnOf(x.issuer),
    serialNumber: x.serialNumber,
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    isCa: x.ca,
    dnsNames: sans.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4)),
    ipAddresses: sans.filter((s) => s.startsWith("IP Address:")).map((s) => s.slice("IP Address:".length)),
    extKeyUsage: (x.keyUsage ?? []).map((oid) => ekuNames[oid] ?? oid),
    fingerprint256: x.fingerprint256,
    role: roleFromUnit(ouOf(x.subject)),
  };
}

/** True when `certPem` carries a valid signature by `caCertPem`'s key and names it as issuer. */
export function isIssuedBy(certPem: string | Buffer, caCertPem: string | Buffer): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caCertPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

// ---- files ----------------------------------------------------------------------------------

export interface WriteOptions {
  /** Replace existing keys and certificates. */
  force?: boolean;
}

export interface PkiWriteResult {
  /** Absolute paths written, certificates first. */
  files: string[];
  summary: CertificateSummary;
}

function refuseOverwrite(paths: string[], force: boolean | undefined): void {
  if (force) return;
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length > 0) {
    throw new MedfclError(
      ErrorCode.AlreadyExists,
      `${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; refusing to overwrite keys. Use another --out directory, or --force to replace them.`,
      { details: { files: existing } },
    );
  }
}

function readText(path: string, what: string, hint: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new MedfclError(ErrorCode.NotFound, `cannot read ${what} ${path}: ${errorMessage(err)}. ${hint}`, { cause: err, details: { path } });
  }
}

/** Creates ca.crt and ca.key (0600) in `outDir`. */
export function initCaDir(outDir: string, options: CaOptions & WriteOptions = {}): PkiWriteResult {
  const certPath = resolve(outDir, PKI_FILES.caCert);
  const keyPath = resolve(outDir, PKI_FILES.caKey);
  refuseOverwrite([keyPath, certPath], options.force);
  const ca = createCertificateAuthority(options);
  writeFileAtomicSync(keyPath, ca.keyPem, { mode: 0o600 });
  writeFileAtomicSync(certPath, ca.certPem);
  return { files: [certPath, keyPath], summary: describeCertificate(ca.certPem) };
}

/** Reads the CA from a `medfcl pki init` directory and checks that the key belongs to the certificate. */
export function loadCaDir(caDir: string): CertificateBundle {
  const hint = `Pass the directory \`medfcl pki init --out DIR\` wrote as --ca.`;
  const certPath = resolve(caDir, PKI_FILES.caCert);
  const keyPath = resolve(caDir, PKI_FILES.caKey);
  const certPem = readText(certPath, "CA certificate", hint);
  const keyPem = readText(keyPath, "CA key", hint);
  let x: X509Certificate;
  try {
    x = new X509Certificate(certPem);
  } catch (err) {
    throw new MedfclError(ErrorCode.InvalidArgument, `${certPath} is not a PEM certificate: ${errorMessage(err)}`, { cause: err, details: { path: certPath } });
  }
  if (!x.ca) throw new MedfclError(ErrorCode.InvalidArgument, `${certPath} is not a CA certificate (basicConstraints cA is false)`, { details: { path: certPath } });
  let matches = false;
  try {
    matches = x.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new MedfclError(ErrorCode.InvalidArgument, `${keyPath} is not a PEM private key: ${errorMessage(err)}`, { cause: err, details: { path: keyPath } });
  }
  if (!matches) throw new MedfclError(ErrorCode.InvalidArgument, `${keyPath} does not belong to ${certPath}`, { details: { cert: certPath, key: keyPath } });
  if (new Date(x.validTo) <= new Date()) {
    throw new MedfclError(ErrorCode.FailedPrecondition, `the CA ${certPath} expired on ${x.validTo}; create a new one with \`medfcl pki init\``, { details: { path: certPath } });
  }
  return { certPem, keyPem };
}

function writeLeaf(caDir: string, outDir: string, names: { cert: string; key: string }, issue: (ca: CertificateBundle) => CertificateBundle, force?: boolean): PkiWriteResult {
  const certPath = resolve(outDir, names.cert);
  const keyPath = resolve(outDir, names.key);
  const caCopy = resolve(outDir, PKI_FILES.caCert);
  refuseOverwrite([keyPath, certPath], force);
  const ca = loadCaDir(caDir);
  const leaf = issue(ca);
  writeFileAtomicSync(keyPath, leaf.keyPem, { mode: 0o600 });
  writeFileAtomicSync(certPath, leaf.certPem);
  // The peer needs the CA certificate to verify the other side; never the CA key.
  if (caCopy !== resolve(caDir, PKI_FILES.caCert)) writeFileAtomicSync(caCopy, ca.certPem);
  return { files: [certPath, keyPath, caCopy], summary: describeCertificate(leaf.certPem) };
}

/** Writes site.crt, site.key (0600) and ca.crt into `outDir`. */
export function writeSiteCredentials(caDir: string, siteId: string, outDir: string, options: LeafOptions & WriteOptions = {}): PkiWriteResult {
  assertSiteId(siteId);
  return writeLeaf(caDir, outDir, { cert: PKI_FILES.siteCert, key: PKI_FILES.siteKey }, (ca) => issueSiteCertificate(ca, siteId, options), options.force);
}

/** Writes admin.crt, admin.key (0600) and ca.crt into `outDir`: the credentials for `medfcl runs …`. */
export function writeAdminCredentials(caDir: string, adminName: string, outDir: string, options: LeafOptions & WriteOptions = {}): PkiWriteResult {
  assertAdminName(adminName);
  return writeLeaf(caDir, outDir, { cert: PKI_FILES.adminCert, key: PKI_FILES.adminKey }, (ca) => issueAdminCertificate(ca, adminName, options), options.force);
}

/** Writes evaluator.crt, evaluator.key (0600) and ca.crt into `outDir`: the credentials for `medfcl eval-worker`. */
export function writeEvaluatorCredentials(caDir: string, evaluatorName: string, outDir: string, options: LeafOptions & WriteOptions = {}): PkiWriteResult {
  assertEvaluatorName(evaluatorName);
  return writeLeaf(caDir, outDir, { cert: PKI_FILES.evaluatorCert, key: PKI_FILES.evaluatorKey }, (ca) => issueEvaluatorCertificate(ca, evaluatorName, options), options.force);
}

/** Writes coordinator.crt, coordinator.key (0600) and ca.crt into `outDir`. */
export function writeCoordinatorCredentials(caDir: string, hosts: string[], outDir: string, options: LeafOptions & WriteOptions = {}): PkiWriteResult {
  const list = parseHosts(hosts);
  return writeLeaf(
    caDir,
    outDir,
    { cert: PKI_FILES.coordinatorCert, key: PKI_FILES.coordinatorKey },
    (ca) => issueCoordinatorCertificate(ca, list, options),
    options.force,
  );
}
