/**
 * The loss-aware exemplar sampler, for real: a nano detector trained on a site's correctly labelled
 * images, then the site's offerer run over all its images, three of which carry a wrong label (the
 * polyp's box shifted to the opposite quadrant, where there is no polyp). Those three have clearly
 * the highest detection loss under the model, and loss-aware offers exactly them; random does not.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { subsetDataset, synthesizeSuite } from "../../services/data/index.js";
import { createLogger, silentLogger, type Logger } from "../../services/log/index.js";
import { createDetector, imageLosses, initBackend, modelConfig, trainDetector, type TfDetector } from "../../services/model/index.js";
import { siteHmac } from "../../services/privacy/index.js";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import { TaskRefusedError } from "../../site-agent/errors.js";
import { exemplarOfferer } from "../../site-agent/exemplar-offerer.js";
import { loadSiteData, type SiteData } from "../../site-agent/site-data.js";
import { createSiteWork } from "../../site-agent/site-work.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("medfcl-loss-aware-");
const secret = "loss-aware-test-secret-0123456789";
/** One shareable image of each of three patients gets the wrong label. */
const WRONG = new Set([3, 11, 17]);

interface CocoJson {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { image_id: number; bbox: number[] }[];
}

/** Shifts each box of a WRONG image to the opposite quadrant: background is labelled, the polyp is not. */
function mislabel(annotationsPath: string): void {
  const coco = JSON.parse(readFileSync(annotationsPath, "utf8")) as CocoJson;
  for (const a of coco.annotations) {
    if (!WRONG.has(a.image_id)) continue;
    const im = coco.images.find((i) => i.id === a.image_id)!;
    const [x, y, w, h] = a.bbox;
    const cx = x + w / 2 < im.width / 2 ? 0.75 * im.width : 0.25 * im.width;
    const cy = y + h / 2 < im.height / 2 ? 0.75 * im.height : 0.25 * im.height;
    a.bbox = [Math.round(cx - w / 2), Math.round(cy - h / 2), w, h];
  }
  writeFileSync(annotationsPath, JSON.stringify(coco));
}

function task(sampler: string, wanted = 3): TrainTask__Output {
  return {
    task_id: `t-${sampler}`,
    run_id: "r1",
    step: 0,
    round: 0,
    base_version: "b".repeat(64),
    hyperparameters: { seed: 1 },
    // As a coordinator built before the enums sends it (the string field), so any name can be tried.
    exemplar_sampler: "REPLAY_SAMPLER_UNSPECIFIED",
    legacy_exemplar_sampler: sampler,
    exemplars_wanted: wanted,
    exemplar_ids: [],
    shots: 0,
    shots_selection: "SHOTS_SELECTION_UNSPECIFIED",
    delta_encoding: "DELTA_ENCODING_UNSPECIFIED",
  } as unknown as TrainTask__Output;
}

describe("site agent - loss-aware exemplar sampler", () => {
  let data: SiteData;
  let det: TfDetector;
  const dataDir = join(dir, "kvasir", "train");

  before(async () => {
    await initBackend("cpu");
    await synthesizeSuite({ suite: "polyp", out: dir, seed: 5, scale: "tiny", domains: ["kvasir"] });
    mislabel(join(dataDir, "annotations.json"));
    data = await loadSiteData({ data: dataDir, task: "detection" });
    for (const id of WRONG) assert.equal(data.extrasOf(id).shareable, true, `image ${id} must be shareable for this test`);
    // The current model has learnt the domain from its correctly labelled images.
    det = createDetector(modelConfig("nano", { inputSize: 64 }), 1);
    const clean = data.dataset.images.flatMap((im, i) => (WRONG.has(im.id) ? [] : [i]));
    await trainDetector(det, subsetDataset(data.dataset, clean), { epochs: 1, steps: 40, batchSize: 8, lr: 2e-3, textLr: 2e-4, weightDecay: 0.05, freezeStages: 0, gradClip: 5, seed: 1, augment: false });
  });
  after(() => {
    det?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The dataset ids of the images an offer exported, found by their provenance HMAC. */
  async function offeredImageIds(sampler: string, modelFor: () => TfDetector | null, logger: Logger = silentLogger()): Promise<number[]> {
    const config = agentSchema.parse({ siteId: "site-1", data: dataDir, stateDir: mkdtempSync(join(dir, "state-")), privacy: { siteSecret: secret } });
    const offer = exemplarOfferer({ data, privacy: config.privacy, stateDir: config.stateDir, siteId: "site-1", secret, modelFor, logger });
    const offers = await offer(task(sampler), 3);
    const byHmac = new Map(data.dataset.images.map((im) => [siteHmac(secret, "record", `kvasir/${im.file_name}`), im.id]));
    return offers.map((o) => byHmac.get(o.info.provenance?.source_hmac ?? "")!).sort((a, b) => a - b);
  }

  it("loss-aware - the mislabelled images have clearly the highest detection loss under the model", async () => {
    const losses = await imageLosses(det, data.dataset, data.dataset.images.map((_, i) => i));
    const wrong = losses.filter((_, i) => WRONG.has(data.dataset.images[i].id));
    const right = losses.filter((_, i) => !WRONG.has(data.dataset.images[i].id));
    assert.ok(Math.min(...wrong) > 1.2 * Math.max(...right), `wrong ${wrong.map((l) => l.toFixed(2))} vs right up to ${Math.max(...right).toFixed(2)}`);
    assert.deepEqual(await imageLosses(det, data.dataset, data.dataset.images.map((_, i) => i)), losses, "the same model gives the same losses");
  });

  it("loss-aware - the site offers exactly the high-loss (mislabelled) images; random does not", async () => {
    assert.deepEqual(await offeredImageIds("loss-aware", () => det), [...WRONG]);
    const random = await offeredImageIds("random", () => det);
    assert.equal(random.length, 3);
    assert.notDeepEqual(random, [...WRONG]);
  });

  it("loss-aware - without the trained model (an update resumed from the spool) the offer is the random one, said in the log", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const logger = createLogger({ pretty: false, destination: sink });
    assert.deepEqual(await offeredImageIds("loss-aware", () => null, logger), await offeredImageIds("random", () => null));
    assert.ok(lines.some((l) => /"sampler":"loss-aware".*no longer held.*choosing the exemplars at random/.test(l)), lines.join(""));
  });

  it("loss-aware - a task naming a sampler (or shots selection) the site does not know is refused before training, naming the field", async () => {
    const config = agentSchema.parse({ siteId: "site-1", data: dataDir, stateDir: mkdtempSync(join(dir, "state-")), privacy: { siteSecret: secret } });
    const work = await createSiteWork(config, silentLogger());
    assert.doesNotThrow(() => work.checkTask(task("loss-aware")));
    for (const name of ["reservoir", "hardest"]) {
      assert.throws(() => work.checkTask(task(name)), (err: unknown) => err instanceof TaskRefusedError && new RegExp(`unknown exemplar sampler "${name}" in task t-${name} exemplar_sampler`).test(err.message));
    }
    assert.doesNotThrow(() => work.checkTask(task("hardest", 0)), "a task that wants no exemplars does not use the sampler");
    const fewShot: TrainTask__Output = { ...task("random"), shots: 5, legacy_shots_selection: "hardest" };
    assert.throws(() => work.checkTask(fewShot), (err: unknown) => err instanceof TaskRefusedError && /unknown shots_selection "hardest"/.test(err.message));
  });
});
