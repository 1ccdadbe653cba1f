import type * as grpc from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import { ErrorCode, MedfclError } from "../errors/index.js";
import { roleFromUnit, type CertificateRole } from "./pki.js";

/**
 * The part of a grpc-js server call (unary, streaming or bidi) that identity checks read. grpc-js
 * does not export its `ServerSurfaceCall` type from the package root, so this names the subset.
 */
export type ServerCallIdentity = Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext" | "getPeer">;

const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

function commonName(cert: PeerCertificate): string | null {
  // Node gives a string, or an array when the subject repeats CN; a repeated CN is ambiguous.
  const cn: unknown = cert.subject?.CN;
  if (typeof cn === "string" && cn.length > 0) return cn;
  return null;
}

/** Who a verified client certificate names (its CN) and the role `medfcl pki` signed into it. */
export interface PeerIdentity {
  id: string;
  /** Null for certificates of releases before roles: they are sites, never admins. */
  role: CertificateRole | null;
}

/**
 * The caller's identity from its client certificate. grpc-js (≥ 1.10) reports the peer certificate
 * only when the TLS handshake verified it against the server's CA, so a certificate here is
 * already a verified one and its OU was set by whoever holds the CA key (`medfcl pki`). A
 * certificate whose extended key usage excludes clientAuth (the coordinator's own server
 * certificate, say) identifies nobody. Null without mTLS.
 */
export function peerIdentity(call: ServerCallIdentity): PeerIdentity | null {
  const auth = typeof call.getAuthContext === "function" ? call.getAuthContext() : null;
  const cert = auth?.sslPeerCertificate;
  if (!cert) return null;
  if (cert.ext_key_usage && !cert.ext_key_usage.includes(OID_CLIENT_AUTH)) return null;
  const id = commonName(cert);
  if (id === null) return null;
  // A repeated OU comes as an array: ambiguous, so no role.
  return { id, role: roleFromUnit(cert.subject?.OU) };
}

/** The CN of the caller's verified client certificate, whatever its role; null without one. */
export function peerSiteId(call: ServerCallIdentity): string | null {
  return peerIdentity(call)?.id ?? null;
}

/**
 * Checks that a request's claimed site id is the caller's certificate identity and returns it.
 * Unauthenticated when the call has no verified client certificate; PermissionDenied when the
 * certificate belongs to another site. With `insecure` (plaintext, local experiments only) the
 * claim is trusted as it stands.
 */
export function assertSiteIdentity(call: ServerCallIdentity, claimedSiteId: string, insecure: boolean): string {
  if (!claimedSiteId) {
    throw new MedfclError(ErrorCode.InvalidArgument, "site_id is empty; every request must name the calling site", { details: { field: "site_id" } });
  }
  if (insecure) return claimedSiteId;
  const peer = peerIdentity(call);
  const actual = peer?.id ?? null;
  if (actual === null) {
    throw new MedfclError(
      ErrorCode.Unauthenticated,
      `request for site "${claimedSiteId}" from ${call.getPeer()} carries no verified client certificate with a site CN; connect with the site certificate from \`medfcl pki issue-site\``,
      { details: { claimedSiteId, peer: call.getPeer() } },
    );
  }
  if (peer?.role === "admin") {
    throw new MedfclError(ErrorCode.PermissionDenied, `the certificate "${actual}" has role admin and cannot act for a site; the agent needs its site certificate from \`medfcl pki issue-site\``, {
      details: { claimedSiteId, certificateId: actual, role: "admin" },
    });
  }
  if (actual !== claimedSiteId) {
    throw new MedfclError(ErrorCode.PermissionDenied, `the certificate of site "${actual}" cannot act for site "${claimedSiteId}"`, {
      details: { claimedSiteId, certificateSiteId: actual },
    });
  }
  return actual;
}

/**
 * AdminService is for certificates whose signed role is admin, and for nothing else: a site
 * certificate is refused whatever its id ("admin-hospital" included), and so is a certificate of an
 * earlier release, which carries no role (its CN was once the rule); the message says how to get
 * one. With `insecure` there is no identity and every call passes (local experiments only).
 */
export function assertAdminRole(call: ServerCallIdentity, insecure: boolean): void {
  if (insecure) return;
  const peer = peerIdentity(call);
  if (!peer) {
    throw new MedfclError(ErrorCode.Unauthenticated, "admin calls need an admin client certificate: `medfcl pki issue-admin --ca CA_DIR --name NAME --out DIR`", {
      details: { peer: call.getPeer() },
    });
  }
  if (peer.role === "admin") return;
  const reissue = `issue an admin certificate with \`medfcl pki issue-admin --ca CA_DIR --name ${peer.id} --out DIR\``;
  const message =
    peer.role === "site"
      ? `certificate "${peer.id}" has role site; AdminService needs a certificate with role admin (${reissue})`
      : `certificate "${peer.id}" carries no medfcl role (it predates roles in certificates, and a name no longer makes an admin); ${reissue}`;
  throw new MedfclError(ErrorCode.PermissionDenied, message, { details: { certificateId: peer.id, role: peer.role ?? "none" } });
}
