// Imported first by decode-process.ts, before dcmjs: dcmjs logs through loglevel, which binds the
// console methods when its loggers are created, so the console must be replaced before dcmjs loads.
//
// dcmjs reports odd but readable files on the console ("Invalid vr type xs - using US"). The
// decode process's stdout is not read, and its stderr is kept for V8's own fatal messages (bounded.ts
// reads "heap out of memory" there), so the decoder's messages are collected here and go back with
// the answer as notes.
import { format } from "node:util";

let notes: string[] = [];

const collect = (...args: unknown[]): void => {
  notes.push(format(...args));
};
for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) console[method] = collect;

/** The messages collected since the last call, oldest first. */
export function takeNotes(): string[] {
  const taken = notes;
  notes = [];
  return taken;
}
