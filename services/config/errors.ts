import { ErrorCode, MedfclError } from "../errors/index.js";

/** An invalid configuration value. `key` is the dotted path, e.g. `agent.siteId`. The CLI exits 2. */
export class ConfigError extends MedfclError {
  readonly key: string;
  constructor(key: string, message: string, source?: string) {
    super(ErrorCode.InvalidArgument, `invalid config key "${key}"${source ? ` (from ${source})` : ""}: ${message}`, {
      details: { key, source },
    });
    this.key = key;
  }
}
