import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { encodeBmp } from "../../../services/data/index.js";
import { tempDir as sharedTempDir } from "../../helpers/temp.js";

export function tempDir(prefix = "medfcl-data-"): string {
  return sharedTempDir(prefix);
}

export const POLYP_PROMPT = { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" };

/** An RGB image of `bg` with filled rectangles (x, y, w, h, colour). */
export function rgbImage(width: number, height: number, bg: [number, number, number], rects: { box: number[]; color: [number, number, number] }[] = []): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(bg, i * 3);
  for (const r of rects) {
    const [x0, y0, w, h] = r.box;
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data.set(r.color, (y * width + x) * 3);
  }
  return data;
}

export async function writeImage(path: string, width: number, height: number, data: Uint8Array, format: "png" | "jpeg" | "tiff" | "bmp"): Promise<void> {
  mkdirSync(join(path, ".."), { recursive: true });
  if (format === "bmp") {
    writeFileSync(path, encodeBmp({ width, height, data }));
    return;
  }
  const img = sharp(Buffer.from(data), { raw: { width, height, channels: 3 } });
  const buf = format === "png" ? await img.png().toBuffer() : format === "jpeg" ? await img.jpeg({ quality: 95 }).toBuffer() : await img.tiff({ compression: "lzw" }).toBuffer();
  writeFileSync(path, buf);
}

export interface FixtureImage {
  file: string;
  width: number;
  height: number;
  format: "png" | "jpeg" | "tiff" | "bmp";
  boxes: number[][];
}

/** Writes a valid dataset: each image black with white filled boxes, one category with a prompt. */
export async function writeDataset(dir: string, images: FixtureImage[]): Promise<void> {
  const coco = { images: [] as object[], annotations: [] as object[], categories: [{ id: 1, name: "polyp", prompt: POLYP_PROMPT }] };
  let annId = 1;
  for (const [i, im] of images.entries()) {
    const data = rgbImage(im.width, im.height, [0, 0, 0], im.boxes.map((b) => ({ box: b, color: [255, 255, 255] })));
    await writeImage(join(dir, im.file), im.width, im.height, data, im.format);
    coco.images.push({ id: i + 1, file_name: im.file, width: im.width, height: im.height });
    for (const b of im.boxes) coco.annotations.push({ id: annId++, image_id: i + 1, category_id: 1, bbox: b, area: b[2] * b[3], iscrowd: 0 });
  }
  writeFileSync(join(dir, "annotations.json"), JSON.stringify(coco));
}
