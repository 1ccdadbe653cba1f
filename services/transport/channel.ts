import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { ErrorCode, MedfclError } from "../errors/index.js";

/** Chunks stay well below this; the slack covers the message envelope. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * Settings that matter for bulk transfer over grpc-js (DESIGN.md): large messages on both sides
 * and a bigger HTTP/2 flow-control window, without which a stream stalls on every 64 KiB.
 */
export function channelOptions(): grpc.ChannelOptions {
  return {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    "grpc-node.flow_control_window": 32 * 1024 * 1024,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.max_pings_without_data": 0,
    // A restarting coordinator is back within seconds; grpc's default backoff (up to 120 s) would
    // keep an agent's finished upload waiting long after it is.
    "grpc.initial_reconnect_backoff_ms": 500,
    "grpc.max_reconnect_backoff_ms": 5000,
  };
}

export function serverOptions(): grpc.ServerOptions {
  return {
    ...channelOptions(),
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 10_000,
  } as grpc.ServerOptions;
}

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

function readPem(path: string | undefined, what: string, key: string): Buffer {
  if (!path) {
    throw new MedfclError(ErrorCode.FailedPrecondition, `${what} is not configured (${key}); run \`medfcl pki\` or pass --insecure for a local test`, {
      details: { key },
    });
  }
  try {
    return readFileSync(path);
  } catch (err) {
    throw new MedfclError(ErrorCode.NotFound, `cannot read ${what} ${path} (${key}): ${(err as Error).message}`, { cause: err, details: { key, path } });
  }
}

/** mTLS server credentials: clients must present a certificate signed by the CA. */
export function serverCredentials(tls: TlsFiles | undefined, insecure: boolean, section = "coordinator"): grpc.ServerCredentials {
  if (insecure) return grpc.ServerCredentials.createInsecure();
  const ca = readPem(tls?.ca, "CA certificate", `${section}.tls.ca`);
  const cert = readPem(tls?.cert, "server certificate", `${section}.tls.cert`);
  const key = readPem(tls?.key, "server key", `${section}.tls.key`);
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
}

/** mTLS client credentials; the agent's certificate carries its site id as CN. */
export function clientCredentials(tls: TlsFiles | undefined, insecure: boolean, section = "agent"): grpc.ChannelCredentials {
  if (insecure) return grpc.credentials.createInsecure();
  const ca = readPem(tls?.ca, "CA certificate", `${section}.tls.ca`);
  const cert = tls?.cert ? readPem(tls.cert, "client certificate", `${section}.tls.cert`) : undefined;
  const key = tls?.key ? readPem(tls.key, "client key", `${section}.tls.key`) : undefined;
  return grpc.credentials.createSsl(ca, key ?? null, cert ?? null);
}
