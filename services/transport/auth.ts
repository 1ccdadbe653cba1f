import type * as grpc from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";
import { ErrorCode, MedfclError } from "../errors/index.js";

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

/**
 * The site id of the caller: the CN of its client certificate. grpc-js (≥ 1.10) reports the peer
 * certificate only when the TLS handshake verified it against the server's CA, so a certificate
 * here is already a verified one. A certificate whose extended key usage excludes clientAuth (the
 * coordinator's own server certificate, say) identifies no site. Null without mTLS.
 */
export function peerSiteId(call: ServerCallIdentity): string | null {
  const auth = typeof call.getAuthContext === "function" ? call.getAuthContext() : null;
  const cert = auth?.sslPeerCertificate;
  if (!cert) return null;
  if (cert.ext_key_usage && !cert.ext_key_usage.includes(OID_CLIENT_AUTH)) return null;
  return commonName(cert);
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
  const actual = peerSiteId(call);
  if (actual === null) {
    throw new MedfclError(
      ErrorCode.Unauthenticated,
      `request for site "${claimedSiteId}" from ${call.getPeer()} carries no verified client certificate with a site CN; connect with the site certificate from \`medfcl pki issue-site\``,
      { details: { claimedSiteId, peer: call.getPeer() } },
    );
  }
  if (actual !== claimedSiteId) {
    throw new MedfclError(ErrorCode.PermissionDenied, `the certificate of site "${actual}" cannot act for site "${claimedSiteId}"`, {
      details: { claimedSiteId, certificateSiteId: actual },
    });
  }
  return actual;
}
