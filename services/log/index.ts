import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export interface LogOptions {
  /** pino level name; `MEDFCL_LOG_LEVEL` overrides the default. */
  level?: string;
  /** Human-readable lines. Defaults to true when stderr is a TTY. */
  pretty?: boolean;
  /** Component name, e.g. `coordinator` or `agent:site-a`. */
  name?: string;
  /** Where lines go; stderr by default so that stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
}

export function defaultLogOptions(): Required<Omit<LogOptions, "destination" | "name">> {
  return {
    level: process.env.MEDFCL_LOG_LEVEL ?? "info",
    pretty: process.env.MEDFCL_LOG_PRETTY === undefined ? Boolean(process.stderr.isTTY) : process.env.MEDFCL_LOG_PRETTY === "1",
  };
}

/**
 * JSON lines by default (for log shippers); pretty mode uses pino-pretty as a synchronous stream
 * rather than a worker transport, so short-lived CLI commands never lose their last lines.
 */
export function createLogger(options: LogOptions = {}): Logger {
  const defaults = defaultLogOptions();
  const level = options.level ?? defaults.level;
  const usePretty = options.pretty ?? defaults.pretty;
  const base: LoggerOptions = { level, base: options.name ? { name: options.name } : {} };
  const destination = options.destination ?? process.stderr;
  if (usePretty) {
    const stream = pretty({
      colorize: Boolean((destination as NodeJS.WriteStream).isTTY),
      destination: destination as NodeJS.WritableStream & { fd?: number },
      sync: true,
      ignore: "pid,hostname",
      translateTime: "HH:MM:ss.l",
    });
    return pino(base, stream);
  }
  return pino(base, destination as DestinationStream);
}

/** A logger that drops everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
