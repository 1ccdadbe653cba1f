export { medfclProto, packageDefinition, protoRoot, PROTO_FILES, PROTO_LOADER_OPTIONS } from "./proto.js";
export { channelOptions, serverOptions, serverCredentials, clientCredentials, MAX_MESSAGE_BYTES, type TlsFiles } from "./channel.js";
export {
  PKI_FILES,
  SITE_ID_PATTERN,
  createCertificateAuthority,
  issueSiteCertificate,
  issueAdminCertificate,
  issueCoordinatorCertificate,
  describeCertificate,
  isIssuedBy,
  initCaDir,
  loadCaDir,
  writeSiteCredentials,
  writeAdminCredentials,
  writeCoordinatorCredentials,
  parseHosts,
  assertSiteId,
  assertAdminName,
  CERTIFICATE_ROLES,
  roleUnit,
  roleFromUnit,
  type CertificateRole,
  defaultCaOptions,
  defaultLeafOptions,
  type CertificateBundle,
  type CertificateSummary,
  type CaOptions,
  type LeafOptions,
  type WriteOptions,
  type PkiWriteResult,
} from "./pki.js";
export { peerSiteId, peerIdentity, assertSiteIdentity, assertAdminRole, type PeerIdentity, type ServerCallIdentity } from "./auth.js";
export { createAdminClient, type AdminClient } from "./admin-client.js";
