import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCocoDataset, type CocoDataset } from "../services/data/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { PulledExemplar } from "./client.js";

/**
 * Writes the pulled exemplars as a COCO folder and loads it; each image's caption_categories are
 * those of the site it came from.
 * Categories are matched by name and prompt, not by id: two sites' "1" may be different classes
 * (a polyp and a cell), and one site's class keeps one id whichever exemplar brought it.
 */
export async function replayDataset(dir: string, exemplars: PulledExemplar[]): Promise<CocoDataset | null> {
  if (exemplars.length === 0) return null;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "images"), { recursive: true });
  const categories = new Map<string, { id: number; name: string; prompt: { prefix: string; name: string; suffix: string } }>();
  const images: { id: number; file_name: string; width: number; height: number; caption_categories: number[] }[] = [];
  const annotations: { id: number; image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: 0 }[] = [];
  exemplars.forEach((e, i) => {
    const ext = e.info.mime === "image/jpeg" ? "jpg" : "png";
    const file = `images/${e.info.exemplar_id}.${ext}`;
    writeFileSync(join(dir, file), e.bytes);
    const idOf = new Map<number, number>();
    for (const c of e.info.categories) {
      const prompt = { prefix: c.prompt?.prefix ?? "", name: c.prompt?.name ?? c.name, suffix: c.prompt?.suffix ?? "" };
      const key = JSON.stringify([c.name, prompt]);
      let cat = categories.get(key);
      if (!cat) {
        cat = { id: categories.size + 1, name: c.name, prompt };
        categories.set(key, cat);
      }
      idOf.set(c.id, cat.id);
    }
    images.push({ id: i + 1, file_name: file, width: e.info.width, height: e.info.height, caption_categories: [...new Set(idOf.values())] });
    for (const b of e.info.boxes) {
      const categoryId = idOf.get(b.category_id);
      if (categoryId === undefined) {
        // Dropping the box would replay a labelled lesion as background.
        throw new MedfclError(ErrorCode.DataLoss, `exemplar ${e.info.exemplar_id} has a box of category ${b.category_id}, which its categories do not declare; the coordinator's copy is inconsistent`, {
          details: { exemplarId: e.info.exemplar_id, field: "boxes.category_id" },
        });
      }
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: categoryId, bbox: [b.x, b.y, b.width, b.height], area: b.width * b.height, iscrowd: 0 });
    }
  });
  writeFileSync(join(dir, "annotations.json"), JSON.stringify({ images, annotations, categories: [...categories.values()] }));
  return loadCocoDataset(dir);
}
