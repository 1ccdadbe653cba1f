// Imported first by worker.ts, before dcmjs: dcmjs logs through loglevel, which binds the console
// methods when its loggers are created, so the console must be replaced before dcmjs loads.
//
// dcmjs reports odd but readable files on the console ("Invalid vr type xs - using US"). Written to
// the worker's stdio, that text would land in the caller's stdout, or, if the caller read the
// worker's stdio, hold the caller's process open for as long as the pooled worker lives (Node refs
// a worker's port while one of its stdio streams is being read): `medfcl privacy deid-dicom` hung
// after writing its output on such files. So nothing in the worker writes to stdio; the decoder's
// messages are collected here and go back with the answer as notes.
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
