// A TCP proxy for chaos tests: forwards to a target and throttles the client-to-server direction,
// so an upload is slow enough to be cut in the middle. Counts the bytes it forwarded upstream, and
// hands them to `record` when given (tests that search everything a server received).
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  address: string;
  /** Bytes forwarded client -> server so far. */
  bytesUp(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, upBytesPerSec: number, record?: (bytes: Buffer) => void): Promise<TcpProxy> {
  let up = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    upstream.on("data", (d: Buffer) => client.write(d));
    let windowStart = Date.now();
    let windowBytes = 0;
    client.on("data", (d: Buffer) => {
      up += d.length;
      record?.(d);
      upstream.write(d);
      windowBytes += d.length;
      const elapsed = Date.now() - windowStart;
      const due = (windowBytes / upBytesPerSec) * 1000;
      if (due > elapsed) {
        client.pause();
        setTimeout(() => client.resume(), due - elapsed);
      }
      if (elapsed > 1000) {
        windowStart = Date.now();
        windowBytes = 0;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    bytesUp: () => up,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
