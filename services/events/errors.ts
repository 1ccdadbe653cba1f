import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../errors/index.js";

/** The NATS server named by the URL cannot be reached or refused the connection. */
export class NatsUnavailableError extends MedfclError {
  constructor(url: string, reason: string, options: MedfclErrorOptions = {}) {
    super(
      ErrorCode.Unavailable,
      `cannot connect to NATS at ${url}: ${reason}. Start nats-server (with -js) there, fix the URL, or leave --nats out to keep events in the log and SQLite only.`,
      { ...options, details: { url, ...options.details } },
    );
  }
}

/** The server is up but JetStream is off or the events stream cannot be created or updated. */
export class EventStreamError extends MedfclError {
  constructor(url: string, stream: string, reason: string, options: MedfclErrorOptions = {}) {
    super(
      ErrorCode.FailedPrecondition,
      `NATS at ${url}: cannot create or update JetStream stream ${stream}: ${reason}. Run nats-server with -js, and make sure no other stream captures medfcl.>.`,
      { ...options, details: { url, stream, ...options.details } },
    );
  }
}

/** A bad event-bus option. */
export class EventBusOptionError extends MedfclError {
  constructor(option: string, message: string) {
    super(ErrorCode.InvalidArgument, `invalid event bus option ${option}: ${message}`, { details: { option } });
  }
}
