import * as grpc from "@grpc/grpc-js";

/**
 * Trailer a server sets on a refusal that ends by itself (the coordinator's state dir is full): how
 * many milliseconds to wait before trying again. It tells such a RESOURCE_EXHAUSTED from a final one
 * (an update over its size limit), which carries no trailer.
 */
export const RETRY_AFTER_TRAILER = "medfcl-retry-after-ms";

/** The wait the server asked for, or null when the error carries no retry-after trailer. */
export function retryAfterMs(err: unknown): number | null {
  const metadata = (err as { metadata?: unknown } | null)?.metadata;
  if (!(metadata instanceof grpc.Metadata)) return null;
  const value = Number(metadata.get(RETRY_AFTER_TRAILER)[0]);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

/**
 * Whether a failed call may simply be made again: the server could not be reached or restarted
 * (UNAVAILABLE), the deadline passed, or the server said when to come back (retry-after).
 */
export function isTransient(err: unknown): boolean {
  const code = (err as grpc.ServiceError | null)?.code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || retryAfterMs(err) !== null;
}

/**
 * Capped exponential backoff with full jitter (AWS's "exponential backoff and jitter"): a fleet of
 * agents that lost the same coordinator does not come back in lockstep. `attempt` counts from 1.
 * `random` is injectable so tests can pin it.
 */
export function backoffMs(attempt: number, opts: { baseMs?: number; maxMs?: number; random?: () => number } = {}): number {
  const base = opts.baseMs ?? 250;
  const max = opts.maxMs ?? 10_000;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (opts.random ?? Math.random)() * (ceiling / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Calls `fn` until it succeeds or fails with an error that is not transient ({@link isTransient}),
 * waiting with backoff between tries; `onRetry` hears of each wait. Only for calls that are safe to
 * repeat (reads, idempotent writes).
 */
export async function retryTransient<T>(fn: () => Promise<T>, opts: { signal?: AbortSignal; onRetry?: (err: unknown, delayMs: number) => void; maxMs?: number } = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || opts.signal?.aborted) throw err;
      const delay = Math.max(backoffMs(attempt, { baseMs: 500, maxMs: opts.maxMs ?? 10_000 }), retryAfterMs(err) ?? 0);
      opts.onRetry?.(err, delay);
      await sleepUnlessAborted(delay, opts.signal);
    }
  }
}
