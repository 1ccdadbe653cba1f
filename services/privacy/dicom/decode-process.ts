// Runs DICOM decodes in a child process, so that their time and memory can be bounded by the
// caller (bounded.ts): a file that makes a decoder spin or balloon is killed with the process.
// A process serves one job at a time and may be reused for the next while it stays healthy.
import { takeNotes } from "./decode-console.js";
import { deidentifyDataset, deidentifyDicom } from "./deidentify.js";
import { renderDicomFrame } from "./render.js";
import type { DicomJob, DicomJobResult } from "./bounded.js";

async function run(job: DicomJob): Promise<DicomJobResult> {
  takeNotes();
  if (job.op === "deidentify") {
    const r = deidentifyDicom(job.bytes, job.options, job.path);
    return { op: "deidentify", bytes: r.bytes, removed: r.removed, uids: r.uidMap.size, notes: takeNotes() };
  }
  const r = deidentifyDataset(job.bytes, job.options, job.path);
  const image = await renderDicomFrame(r.dict, job.path);
  return { op: "render", image, removed: r.removed, uids: r.uidMap.size, notes: takeNotes() };
}

const send = (msg: unknown): void => {
  process.send!(msg);
};

process.on("message", (job: DicomJob) => {
  run(job).then(
    (result) => send({ ok: true, result }),
    (err: unknown) => {
      const e = err as { name?: string; message?: string; code?: string; details?: Record<string, unknown> };
      send({ ok: false, error: { name: e.name, message: e.message ?? String(err), code: e.code, details: e.details } });
    },
  );
});
// The caller is gone: nothing more will come.
process.on("disconnect", () => process.exit(0));
