import type * as grpc from "@grpc/grpc-js";
import type { CertificateRole, ServerCallIdentity } from "../../services/transport/index.js";
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

/** The RPC names of AdminService (the generated handler type without grpc-js's index signature). */
type AdminRpc = keyof { [K in keyof AdminServiceHandlers as string extends K ? never : number extends K ? never : K]: unknown };

/**
 * Which certificate roles may call each AdminService RPC, in one table so that it can be read (and
 * tested) at a glance; an RPC added to admin.proto fails to compile until it has a row here. Runs and audits are for operators (`medfcl pki issue-admin`); model bytes
 * are also for central eval workers (`medfcl pki issue-evaluator`), whose key should not be able to
 * start or read runs.
 */
export const ADMIN_RPC_ROLES = {
  CreateRun: ["admin"],
  GetRun: ["admin"],
  ListRuns: ["admin"],
  GetAudit: ["admin"],
  PullModelVersion: ["evaluator", "admin"],
} as const satisfies Record<AdminRpc, readonly CertificateRole[]>;

/** Throws (UNAUTHENTICATED or PERMISSION_DENIED) unless the caller's certificate has one of the roles. */
export type AuthorizeRoles = (call: ServerCallIdentity, allowed: readonly CertificateRole[]) => void;

/**
 * Admin calls, under mTLS, need a certificate of the consortium CA whose signed role
 * `ADMIN_RPC_ROLES` allows for that RPC; `authorize` refuses every other certificate, whatever its CN.
 */
export function adminHandlers(ctx: CoordinatorContext, startRun: (runId: string) => void, authorize: AuthorizeRoles): AdminServiceHandlers {
  const guarded = <Req, Res>(allowed: readonly CertificateRole[], fn: (req: Req) => Res) => {
    const inner = unary(ctx, fn);
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      try {
        authorize(call, allowed);
      } catch (err) {
        callback(toGrpcStatus(err));
        return;
      }
      inner(call, callback);
    };
  };
  return {
    CreateRun: guarded(ADMIN_RPC_ROLES.CreateRun, (req) => {
      const run = admin.createRun(ctx, req);
      startRun(run.runId);
      return admin.runToWire(ctx, run);
    }),
    GetRun: guarded(ADMIN_RPC_ROLES.GetRun, (req) => admin.runToWire(ctx, admin.requireRun(ctx, req.run_id))),
    ListRuns: guarded(ADMIN_RPC_ROLES.ListRuns, (req) => admin.listRunsPage(ctx, req)),
    GetAudit: guarded(ADMIN_RPC_ROLES.GetAudit, (req) => admin.buildAudit(ctx, admin.requireRun(ctx, req.run_id))),
    // For eval workers: the job on JetStream names the version, the bytes come from here.
    PullModelVersion(call) {
      (async () => {
        authorize(call, ADMIN_RPC_ROLES.PullModelVersion);
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
