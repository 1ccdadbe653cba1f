// The agent images' HEALTHCHECK. The same rule as `medfcl agent health` (site-agent's checkHealth:
// the heartbeat file <stateDir>/health.json was written within three heartbeat intervals), without
// loading the whole CLI: one probe costs ≈0.3 s of CPU instead of ≈1.4 s. The state dir comes from
// MEDFCL_AGENT_STATE_DIR, which the images set (a state dir set only in a config file is not seen here).
import { checkHealth } from "./dist/site-agent/agent.js";

const h = checkHealth(process.env.MEDFCL_AGENT_STATE_DIR || "/state");
process.stdout.write(`${h.ok ? "healthy" : "unhealthy"}: ${h.reason}\n`);
process.exit(h.ok ? 0 : 1);
