import type * as grpc from "@grpc/grpc-js";
import type { ServerCallIdentity } from "../../services/transport/index.js";
import type { AdminServiceHandlers } from "../../generated/medfcl/v1/AdminService.js";
import * as admin from "../admin-service.js";
import type { CoordinatorContext } from "../context.js";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import { modelChunks } from "../site-service.js";
import { failStream, toGrpcStatus } from "./errors.js";

function unary<Req, Res>(ctx: CoordinatorContext, fn: (req: Req) => Res) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    try {
      callback(null, fn(call.request));
    } catch (err) {
      callback(toGrpcStatus(ctx.storage.refusal(err, call.getPath())));
    }
  };
}

/**
 * Admin calls are for operators. Under mTLS the caller must present a certificate of the
 * consortium CA whose signed role is admin (`medfcl pki issue-admin`); `authorizeAdmin` refuses
 * every other certificate, whatever its CN.
 */
export function adminHandlers(ctx: CoordinatorContext, startRun: (runId: string) => void, authorizeAdmin: (call: ServerCallIdentity) => void): AdminServiceHandlers {
  const guarded = <Req, Res>(fn: (req: Req) => Res) => {
    const inner = unary(ctx, fn);
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      try {
        authorizeAdmin(call);
      } catch (err) {
        callback(toGrpcStatus(err));
        return;
      }
      inner(call, callback);
    };
  };
  return {
    CreateRun: guarded((req) => {
      const run = admin.createRun(ctx, req);
      startRun(run.runId);
      return admin.runToWire(ctx, run);
    }),
    GetRun: guarded((req) => admin.runToWire(ctx, admin.requireRun(ctx, req.run_id))),
    ListRuns: guarded((req) => admin.listRunsPage(ctx, req)),
    GetAudit: guarded((req) => admin.buildAudit(ctx, admin.requireRun(ctx, req.run_id))),
    // For eval workers: the job on JetStream names the version, the bytes come from here.
    PullModelVersion(call) {
      (async () => {
        authorizeAdmin(call);
        const { version, offset, chunk_bytes } = call.request;
        if (!ctx.blobs.has(version)) throw new MedfclError(ErrorCode.NotFound, `model version ${version} is not in the blob store`, { details: { version } });
        for await (const msg of modelChunks(ctx, version, Number(offset), chunk_bytes)) {
          if (call.cancelled) return;
          if (!call.write(msg)) await new Promise((r) => call.once("drain", r));
        }
        call.end();
      })().catch((err: unknown) => failStream(call, err));
    },
  };
}
