import type Database from "better-sqlite3";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";

/** An open coordinator database (better-sqlite3: synchronous, one connection per process). */
export type Db = Database.Database;

/** A database row that does not hold what this code wrote (hand edits, corruption, a bug). */
export class StoreCorruptError extends MedfclError {
  constructor(message: string, details: Record<string, unknown>) {
    super(ErrorCode.DataLoss, message, { details });
  }
}

export const nowIso = (): string => new Date().toISOString();
