import type * as grpc from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import { ErrorCode, MedfclError } from "../errors/index.js";
import { roleFromUnit, type CertificateRole } from "./pki.js";

/**
 * The part of a grpc-js server call (unary, streaming or bidi) that identity checks read. grpc-js
 * does not export its `ServerSurfaceCall` type from the package root, so this names the subset;
 * `getPath` (the RPC, for messages) is optional so that a check can be tested without a server.
 */
export type ServerCallIdentity = Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext" | "getPeer"> & Partial<Pick<grpc.ServerUnaryCall<unknown, unknown>, "getPath">>;

const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** How to get a certificate of each role; refusals quote it. */
const ISSUE_COMMAND: Record<CertificateRole, string> = {
  site: "medfcl pki issue-site --ca CA_DIR --site SITE_ID --out DIR",
  admin: "medfcl pki issue-admin --ca CA_DIR --name NAME --out DIR",
  evaluator: "medfcl pki issue-evaluator --ca CA_DIR --name NAME --out DIR",
};

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
  // Role null is a site certificate of a release before roles; admin and evaluator never act for a site.
  if (peer?.role && peer.role !== "site") {
    throw new MedfclError(ErrorCode.PermissionDenied, `the certificate "${actual}" has role ${peer.role} and cannot act for a site; the agent needs its site certificate from \`${ISSUE_COMMAND.site}\``, {
      details: { claimedSiteId, certificateId: actual, role: peer.role },
    });
  }
  if (actual !== claimedSiteId) {
    throw new MedfclError(ErrorCode.PermissionDenied, `the certificate of site "${actual}" cannot act for site "${claimedSiteId}"`, {
      details: { claimedSiteId, certificateSiteId: actual },
    });
  }
  return actual;
}

/** "/medfcl.v1.AdminService/CreateRun" as "AdminService.CreateRun", for messages. */
function rpcName(call: ServerCallIdentity): string {
  const path = call.getPath?.() ?? "";
  const m = /^\/(?:[\w.]+\.)?(\w+)\/(\w+)$/.exec(path);
  return m ? `${m[1]}.${m[2]}` : "this call";
}

/**
 * Lets the call through when the caller's verified client certificate carries one of the `allowed`
 * roles, signed in by `medfcl pki`, and returns who it is. Otherwise: UNAUTHENTICATED without a
 * certificate, PERMISSION_DENIED for any other role or for a certificate of an earlier release
 * (no role: its CN was once the rule, "admin" included), with a message that names the RPC, the
 * role it needs and the command that issues one. With `insecure` there is no identity and every
 * call passes (local experiments only); the result is then null.
 */
export function assertRole(call: ServerCallIdentity, insecure: boolean, allowed: readonly CertificateRole[]): PeerIdentity | null {
  if (insecure) return null;
  const rpc = rpcName(call);
  const needed = `role ${allowed.join(" or ")}`;
  const peer = peerIdentity(call);
  const issue = (name: string): string => allowed.map((r) => `\`${ISSUE_COMMAND[r].replace("NAME", name)}\``).join(" or ");
  if (!peer) {
    throw new MedfclError(ErrorCode.Unauthenticated, `${rpc} needs a client certificate with ${needed}: ${issue("NAME")}`, {
      details: { peer: call.getPeer(), rpc, allowedRoles: [...allowed] },
    });
  }
  if (peer.role !== null && allowed.includes(peer.role)) return peer;
  const reissue = `issue one with ${issue(peer.id)}`;
  const message =
    peer.role === null
      ? `certificate "${peer.id}" carries no medfcl role (it predates roles in certificates, and a name no longer makes an admin); ${rpc} needs a certificate with ${needed}: ${reissue}`
      : `certificate "${peer.id}" has role ${peer.role}; ${rpc} needs a certificate with ${needed} (${reissue})`;
  throw new MedfclError(ErrorCode.PermissionDenied, message, { details: { certificateId: peer.id, role: peer.role ?? "none", rpc, allowedRoles: [...allowed] } });
}
