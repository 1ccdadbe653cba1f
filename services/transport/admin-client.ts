import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { ErrorCode, MedfclError } from "../errors/index.js";
import type { ModelChunk__Output } from "../../generated/medfcl/v1/ModelChunk.js";
import type { AdminServiceClient } from "../../generated/medfcl/v1/AdminService.js";
import type { Audit__Output } from "../../generated/medfcl/v1/Audit.js";
import type { CreateRunRequest } from "../../generated/medfcl/v1/CreateRunRequest.js";
import type { ListRunsResponse__Output } from "../../generated/medfcl/v1/ListRunsResponse.js";
import type { Run__Output } from "../../generated/medfcl/v1/Run.js";
import { channelOptions, clientCredentials, type TlsFiles } from "./channel.js";
import { medfclProto } from "./proto.js";
import { retryTransient } from "./retry.js";

export interface AdminClient {
  createRun(req: CreateRunRequest): Promise<Run__Output>;
  getRun(runId: string): Promise<Run__Output>;
  listRuns(pageSize?: number, pageToken?: string, state?: string): Promise<ListRunsResponse__Output>;
  getAudit(runId: string): Promise<Audit__Output>;
  /** The bytes of a stored model version, checked against its sha256 (the version's name). */
  pullModelVersion(version: string): Promise<Buffer>;
  /**
   * Polls GetRun until the run is completed, failed or cancelled. A coordinator that is away (a
   * restart: UNAVAILABLE) is waited for with backoff, and `onRetry` hears of each wait.
   */
  waitForRun(runId: string, opts?: { pollMs?: number; timeoutMs?: number; onUpdate?: (run: Run__Output) => void; onRetry?: (err: unknown, delayMs: number) => void }): Promise<Run__Output>;
  close(): void;
}

export function createAdminClient(address: string, opts: { tls?: TlsFiles; insecure: boolean; serverName?: string }): AdminClient {
  const options: grpc.ChannelOptions = { ...channelOptions() };
  if (opts.serverName) options["grpc.ssl_target_name_override"] = opts.serverName;
  const client = new (medfclProto().medfcl.v1.AdminService)(address, clientCredentials(opts.tls, opts.insecure, "admin"), options) as AdminServiceClient;
  const unary = <Req, Res>(method: (req: Req, meta: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => unknown, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r as Res))));
  const api: AdminClient = {
    createRun: (req) => unary(client.CreateRun, req),
    getRun: (runId) => unary(client.GetRun, { run_id: runId }),
    listRuns: (pageSize = 50, pageToken = "", state = "") => unary(client.ListRuns, { page_size: pageSize, page_token: pageToken, state }),
    getAudit: (runId) => unary(client.GetAudit, { run_id: runId }),
    pullModelVersion: (version) =>
      new Promise((resolve, reject) => {
        const parts: Buffer[] = [];
        const stream = client.PullModelVersion({ version, offset: 0, chunk_bytes: 1024 * 1024 }, new grpc.Metadata(), { deadline: Date.now() + 300_000 });
        stream.on("data", (m: ModelChunk__Output) => {
          if (m.chunk) parts.push(m.chunk.data);
        });
        stream.on("error", reject);
        stream.on("end", () => {
          const bytes = Buffer.concat(parts);
          const actual = createHash("sha256").update(bytes).digest("hex");
          if (actual !== version) reject(new MedfclError(ErrorCode.DataLoss, `model ${version} arrived as ${bytes.length} bytes hashing to ${actual}; try again`, { details: { version } }));
          else resolve(bytes);
        });
      }),
    async waitForRun(runId, o = {}) {
      const until = Date.now() + (o.timeoutMs ?? 24 * 3600_000);
      for (;;) {
        const run = await retryTransient(() => api.getRun(runId), { onRetry: o.onRetry });
        o.onUpdate?.(run);
        if (["completed", "failed"].includes(run.state)) return run;
        if (Date.now() > until) return run;
        await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      }
    },
    close: () => client.close(),
  };
  return api;
}
