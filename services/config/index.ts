export { loadConfig, parseConfig, envLeaves, type LoadConfigOptions } from "./load.js";
export {
  configSchema,
  coordinatorSchema,
  agentSchema,
  privacySchema,
  type MedfclConfig,
  type CoordinatorConfig,
  type AgentConfig,
  type PrivacyConfig,
} from "./schema.js";
export { ConfigError } from "./errors.js";
