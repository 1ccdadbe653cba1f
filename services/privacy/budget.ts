/**
 * Per-site ε ledger for DP weight deltas. Tasks compose in RDP (the per-order RDP of every task
 * adds up), and the total ε at the site's δ comes from the summed curve, which is tighter than
 * adding ε's. A task that would take the total past the budget is refused before it trains.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../store/index.js";
import { appendAuditEntry, auditLogPath, readAuditLog } from "./audit.js";
import { EpsilonBudgetExceededError, PrivacyArgumentError, PrivacyStateError } from "./errors.js";
import { defaultRdpOrders, rdpToEpsilon, sampledGaussianRdp } from "./rdp.js";

export interface DpTask {
  taskId: string;
  noiseMultiplier: number;
  /** Probability the site's contribution is used in one step (1 when it always is). */
  sampleRate: number;
  steps: number;
  clipNorm?: number;
}

export interface EpsilonLedger {
  version: 1;
  site: string;
  delta: number;
  orders: number[];
  /** Summed RDP of every recorded task, per order. */
  rdp: number[];
  epsilon: number;
  tasks: (DpTask & { epsilonAfter: number; time: string })[];
}

export interface EpsilonBudgetContext {
  site: string;
  stateDir: string;
  /** Site budget and δ, usually agent.privacy.dp.epsilonBudget and .delta. */
  epsilonBudget: number;
  delta: number;
  now?: () => Date;
}

export interface EpsilonPlan {
  /** ε already spent by the site. */
  spent: number;
  /** ε of this task alone. */
  task: number;
  /** ε the site would have spent after this task (RDP-composed). */
  after: number;
  budget: number;
  remaining: number;
}

export function epsilonLedgerPath(stateDir: string, site: string): string {
  return join(stateDir, "privacy", `epsilon-ledger-${site}.json`);
}

export function loadEpsilonLedger(stateDir: string, site: string, delta: number): EpsilonLedger {
  const path = epsilonLedgerPath(stateDir, site);
  if (!existsSync(path)) {
    const orders = defaultRdpOrders();
    return { version: 1, site, delta, orders, rdp: orders.map(() => 0), epsilon: 0, tasks: [] };
  }
  let ledger: EpsilonLedger;
  try {
    ledger = JSON.parse(readFileSync(path, "utf8")) as EpsilonLedger;
  } catch (err) {
    throw new PrivacyStateError(path, "the ε ledger is not valid JSON; restore it from a backup (the audit log lists every spend)", { cause: err });
  }
  if (ledger.delta !== delta) {
    throw new PrivacyStateError(path, `the ε ledger was kept at δ=${ledger.delta} but the config now says δ=${delta}; ε values at different δ do not compose. Restore agent.privacy.dp.delta.`);
  }
  return ledger;
}

function taskRdp(orders: number[], t: DpTask): number[] {
  return orders.map((a) => t.steps * sampledGaussianRdp(t.sampleRate, t.noiseMultiplier, a));
}

function validateTask(t: DpTask): void {
  if (!t.taskId) throw new PrivacyArgumentError("a DP task needs a taskId", { details: { field: "taskId" } });
  if (!(t.noiseMultiplier >= 0)) throw new PrivacyArgumentError(`noiseMultiplier must be ≥ 0, got ${t.noiseMultiplier}`, { details: { field: "noiseMultiplier" } });
  if (!(t.sampleRate >= 0 && t.sampleRate <= 1)) throw new PrivacyArgumentError(`sampleRate must be in [0, 1], got ${t.sampleRate}`, { details: { field: "sampleRate" } });
  if (!(Number.isInteger(t.steps) && t.steps >= 0)) throw new PrivacyArgumentError(`steps must be a whole number ≥ 0, got ${t.steps}`, { details: { field: "steps" } });
}

/** What the task would cost; throws EpsilonBudgetExceededError when it does not fit. */
export function checkEpsilonBudget(ctx: EpsilonBudgetContext, task: DpTask): EpsilonPlan {
  validateTask(task);
  const ledger = loadEpsilonLedger(ctx.stateDir, ctx.site, ctx.delta);
  const add = taskRdp(ledger.orders, task);
  const after = rdpToEpsilon(ledger.orders, ledger.rdp.map((r, i) => r + add[i]), ctx.delta).epsilon;
  const alone = rdpToEpsilon(ledger.orders, add, ctx.delta).epsilon;
  if (!(after <= ctx.epsilonBudget)) throw new EpsilonBudgetExceededError(ctx.site, ledger.epsilon, alone, ctx.epsilonBudget, task.taskId);
  return { spent: ledger.epsilon, task: alone, after, budget: ctx.epsilonBudget, remaining: ctx.epsilonBudget - after };
}

/**
 * Checks the budget, then records the spend: a `dp-spend` entry in the site's audit log and the
 * ledger written atomically. Call it before the privatized delta leaves the site.
 */
export async function recordEpsilonSpend(ctx: EpsilonBudgetContext, task: DpTask): Promise<EpsilonPlan> {
  const plan = checkEpsilonBudget(ctx, task);
  const ledger = loadEpsilonLedger(ctx.stateDir, ctx.site, ctx.delta);
  const add = taskRdp(ledger.orders, task);
  ledger.rdp = ledger.rdp.map((r, i) => r + add[i]);
  ledger.epsilon = plan.after;
  const time = (ctx.now ?? (() => new Date()))().toISOString();
  ledger.tasks.push({ ...task, epsilonAfter: plan.after, time });
  const logPath = auditLogPath(ctx.stateDir, ctx.site);
  const entries = readAuditLog(logPath);
  const last = entries[entries.length - 1];
  appendAuditEntry(
    logPath,
    {
      type: "dp-spend",
      site: ctx.site,
      time,
      taskId: task.taskId,
      epsilon: plan.task,
      totalEpsilon: plan.after,
      delta: ctx.delta,
      noiseMultiplier: task.noiseMultiplier,
      sampleRate: task.sampleRate,
      steps: task.steps,
      clipNorm: task.clipNorm,
    },
    last ? { seq: last.seq, hash: last.hash } : undefined,
  );
  await writeFileAtomic(epsilonLedgerPath(ctx.stateDir, ctx.site), `${JSON.stringify(ledger)}\n`);
  return plan;
}
