// The coordinator database: parsing.
import { z } from "zod";
import { StoreCorruptError } from "./db.js";

interface Where {
  table: string;
  key: string;
  field?: string;
}

function describe(where: Where, issues: z.ZodIssue[]): string {
  const first = issues[0];
  const path = [where.field, ...first.path].filter((p) => p !== undefined && p !== "").join(".");
  return `coordinator database: ${where.table} row "${where.key}"${path ? ` field ${path}` : ""}: ${first.message}`;
}

export function parseJson<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, text: string, where: Where & { field: string }): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StoreCorruptError(`coordinator database: ${where.table} row "${where.key}" field ${where.field} is not JSON (${(err as Error).message})`, { ...where });
  }
  return parseValue(schema, raw, where);
}

export function parseValue<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, raw: unknown, where: Where): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new StoreCorruptError(describe(where, r.error.issues), { ...where, path: r.error.issues[0].path.join(".") });
  return r.data;
}

export const stringList = z.array(z.string());
