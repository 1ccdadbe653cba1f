import type * as grpc from "@grpc/grpc-js";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import type { ServerHttp2Session } from "node:http2";
import { assertSiteIdentity, channelOptions } from "../../services/transport/index.js";
import type { SiteServiceHandlers } from "../../generated/medfcl/v1/SiteService.js";
import type { ExemplarInfo__Output } from "../../generated/medfcl/v1/ExemplarInfo.js";
import type { PushUpdateMessage__Output } from "../../generated/medfcl/v1/PushUpdateMessage.js";
import type { ExemplarMessage__Output } from "../../generated/medfcl/v1/ExemplarMessage.js";
import type { CoordinatorContext } from "../context.js";
import * as store from "../store/index.js";
import * as site from "../site-service.js";
import { reportEvaluation } from "../site-evaluation.js";
import * as secagg from "../secure-aggregation.js";
import { failStream, toGrpcStatus } from "./errors.js";

/** Unary wrapper: authenticate, run, map errors; always exactly one reply. */
function unary<Req extends { site_id: string }, Res>(ctx: CoordinatorContext, rpc: string, fn: (siteId: string, req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(assertSiteIdentity(call, call.request.site_id, ctx.config.insecure), call.request, call))
      .then((res) => callback(null, res))
      .catch((err: unknown) => {
        ctx.logger.debug({ rpc, err: (err as Error).message }, "rpc failed");
        callback(toGrpcStatus(ctx.storage.refusal(err, rpc)));
      });
  };
}

/** Aborted when the client cancels the call (a long poll it no longer waits for). */
function cancelSignal(call: { on(event: "cancelled", fn: () => void): unknown }): AbortSignal {
  const abort = new AbortController();
  call.on("cancelled", () => abort.abort());
  return abort.signal;
}

const widenedSessions = new WeakSet<ServerHttp2Session>();

/**
 * grpc-js (1.14) applies `grpc-node.flow_control_window` to client connections only
 * (grpc/grpc-node#3058), so uploads to this server are paced by Node's 64 KiB HTTP/2 receive
 * window, one round trip per 32 KiB. Widen the window of the session an upload arrives on, once.
 * grpc-js does not expose the session publicly; where it is not found, the default window stays.
 */
function widenReceiveWindow(call: object): void {
  const session = (call as { call?: { stream?: { session?: ServerHttp2Session } } }).call?.stream?.session;
  const window = Number(channelOptions()["grpc-node.flow_control_window"]);
  if (!session || session.destroyed || widenedSessions.has(session) || !(window > 65_535)) return;
  widenedSessions.add(session);
  try {
    session.setLocalWindowSize(window);
    session.settings({ initialWindowSize: window });
  } catch {
    /* best effort: the default window only makes the upload slower */
  }
}

async function* chunkData(call: AsyncIterable<PushUpdateMessage__Output>): AsyncGenerator<Buffer> {
  let expected = 0;
  for await (const msg of call) {
    if (!msg.chunk) throw new MedfclError(ErrorCode.InvalidArgument, "PushUpdate: only chunks may follow the header", { details: { field: "payload" } });
    if (Number(msg.chunk.offset) !== expected) {
      throw new MedfclError(ErrorCode.InvalidArgument, `PushUpdate: chunk at offset ${msg.chunk.offset}, expected ${expected}`, { details: { field: "chunk.offset" } });
    }
    expected += msg.chunk.data.length;
    yield msg.chunk.data;
  }
}

export function siteHandlers(ctx: CoordinatorContext): SiteServiceHandlers {
  return {
    Register: unary(ctx, "Register", (siteId, req) => site.registerSite(ctx, siteId, req)),
    Heartbeat: unary(ctx, "Heartbeat", (siteId, req) => site.heartbeat(ctx, siteId, req)),
    NextTask: unary(ctx, "NextTask", async (siteId, req, call) => {
      const abort = new AbortController();
      call.on("cancelled", () => abort.abort());
      return (await site.nextTask(ctx, siteId, req, abort.signal)) ?? { idle: { retry_after_ms: 500 } };
    }),
    ReportMetrics: unary(ctx, "ReportMetrics", (siteId, req) => {
      site.reportMetrics(ctx, siteId, req);
      return {};
    }),
    ReportEvaluation: unary(ctx, "ReportEvaluation", (siteId, req) => reportEvaluation(ctx, siteId, req)),
    SecAggAdvertiseKeys: unary(ctx, "SecAggAdvertiseKeys", (siteId, req, call) => secagg.advertiseKeys(ctx, siteId, req, cancelSignal(call))),
    SecAggShareKeys: unary(ctx, "SecAggShareKeys", (siteId, req, call) => secagg.shareKeys(ctx, siteId, req, cancelSignal(call))),
    SecAggUnmask: unary(ctx, "SecAggUnmask", (siteId, req, call) => secagg.unmask(ctx, siteId, req, cancelSignal(call))),

    PullModel(call) {
      (async () => {
        const siteId = assertSiteIdentity(call, call.request.site_id, ctx.config.insecure);
        site.assertMayPullVersion(ctx, siteId, call.request.version);
        for await (const msg of site.modelChunks(ctx, call.request.version, Number(call.request.offset), call.request.chunk_bytes)) {
          if (call.cancelled) return;
          // Respect back-pressure so a slow link does not buffer the whole model in memory.
          if (!call.write(msg)) await new Promise((r) => call.once("drain", r));
        }
        call.end();
      })().catch((err: unknown) => failStream(call, ctx.storage.refusal(err, "PullModel")));
    },

    PushUpdate(call, callback) {
      widenReceiveWindow(call);
      (async () => {
        const iterator = call[Symbol.asyncIterator]() as AsyncIterator<PushUpdateMessage__Output>;
        const first = await iterator.next();
        const header = first.done ? undefined : first.value.header;
        if (!header) throw new MedfclError(ErrorCode.InvalidArgument, "PushUpdate must start with a header", { details: { field: "header" } });
        const siteId = assertSiteIdentity(call, header.site_id, ctx.config.insecure);
        const rest: AsyncIterable<PushUpdateMessage__Output> = { [Symbol.asyncIterator]: () => iterator };
        return site.receiveUpdate(ctx, siteId, header, chunkData(rest));
      })()
        .then((res) => callback(null, res))
        .catch((err: unknown) => callback(toGrpcStatus(ctx.storage.refusal(err, "PushUpdate"))));
    },

    PullExemplars(call) {
      (async () => {
        const siteId = assertSiteIdentity(call, call.request.site_id, ctx.config.insecure);
        site.assertMayPullExemplars(ctx, siteId, call.request.task_id, call.request.exemplar_ids);
        for (const id of call.request.exemplar_ids) {
          const row = store.getExemplar(ctx.db, id);
          if (!row) throw new MedfclError(ErrorCode.NotFound, `exemplar ${id} is not stored`, { details: { exemplarId: id } });
          call.write({ info: site.exemplarInfo(row) });
          const bytes = ctx.blobs.get(id);
          for (let off = 0; off < bytes.length; off += ctx.config.chunkBytes) {
            if (!call.write({ chunk: { offset: off, data: bytes.subarray(off, off + ctx.config.chunkBytes) } })) await new Promise((r) => call.once("drain", r));
          }
        }
        call.end();
      })().catch((err: unknown) => failStream(call, err));
    },

    PushExemplars(call, callback) {
      (async () => {
        let siteId = "";
        let taskId = "";
        let info: ExemplarInfo__Output | null = null;
        let parts: Buffer[] = [];
        // Bytes of the current exemplar; past the limit they are counted and dropped, never held.
        let held = 0;
        const maxBytes = ctx.config.exemplarLimits.maxBytes;
        const accepted: string[] = [];
        const rejected: { exemplar_id: string; reason: string }[] = [];
        const flush = async (): Promise<void> => {
          if (!info) return;
          const r = await site.receiveExemplar(ctx, siteId, taskId, info, held > maxBytes ? { tooLarge: maxBytes } : Buffer.concat(parts));
          if (r.accepted) accepted.push(info.exemplar_id);
          else rejected.push({ exemplar_id: info.exemplar_id, reason: r.reason ?? "rejected" });
          info = null;
          parts = [];
          held = 0;
        };
        for await (const msg of call as AsyncIterable<ExemplarMessage__Output>) {
          if (msg.header) {
            siteId = assertSiteIdentity(call, msg.header.site_id, ctx.config.insecure);
            taskId = msg.header.task_id;
            ctx.storage.assertWritable("PushExemplars");
          } else if (!siteId) {
            throw new MedfclError(ErrorCode.InvalidArgument, "PushExemplars must start with a header", { details: { field: "header" } });
          } else if (msg.info) {
            await flush();
            info = msg.info;
          } else if (msg.chunk && info) {
            held += msg.chunk.data.length;
            if (held <= maxBytes) parts.push(msg.chunk.data);
            else parts = [];
          }
        }
        await flush();
        return { accepted_ids: accepted, rejected };
      })()
        .then((res) => callback(null, res))
        .catch((err: unknown) => callback(toGrpcStatus(ctx.storage.refusal(err, "PushExemplars"))));
    },
  };
}
