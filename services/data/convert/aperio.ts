/**
 * Aperio ImageScope XML (MoNuSeg): one `Region` per object, its outline as `Vertices/Vertex@X,@Y`
 * in pixels of the image. Each region becomes one instance box, the bounds of its vertices.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DataArgumentError } from "../errors.js";
import { readImageSize } from "../image.js";
import { clipBox, folderList, listImages, summarizeIds, writeConverted, type CommonConvertOptions, type ConvertReport, type ConvertedImage, type Folders } from "./common.js";

export interface AperioOptions extends CommonConvertOptions {
  images: Folders;
  /** Folders with <id>.xml or <id>.xml.gz (read directly through zlib). */
  annotations: Folders;
  category: string;
}

/** The outline bounds [x, y, w, h] of every Region, with the reason for each region left out. */
export function parseAperioRegions(xml: string, file: string): { boxes: [number, number, number, number][]; skipped: string[] } {
  if (!/<Annotations[\s>]/.test(xml)) throw new DataArgumentError(`${file}: not Aperio ImageScope XML (no <Annotations> root)`, { details: { file } });
  const boxes: [number, number, number, number][] = [];
  const skipped: string[] = [];
  const regionRe = /<Region\b([^>]*)>([\s\S]*?)<\/Region>/g;
  const vertexRe = /<Vertex\b[^>]*?\bX="([^"]*)"[^>]*?\bY="([^"]*)"/g;
  for (let m = regionRe.exec(xml); m !== null; m = regionRe.exec(xml)) {
    const id = /\bId="([^"]*)"/.exec(m[1])?.[1] ?? "?";
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    let n = 0;
    let bad = false;
    for (let v = vertexRe.exec(m[2]); v !== null; v = vertexRe.exec(m[2])) {
      const x = Number(v[1]);
      const y = Number(v[2]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) bad = true;
      n++;
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x);
      maxY = Math.max(maxY, y);
    }
    vertexRe.lastIndex = 0;
    if (bad) skipped.push(`${file}: region ${id} has a vertex that is not a number`);
    else if (n < 3 || maxX <= minX || maxY <= minY) skipped.push(`${file}: region ${id} has ${n} vertices and no area`);
    else boxes.push([minX, minY, maxX - minX, maxY - minY]);
  }
  return { boxes, skipped };
}

function readXml(path: string): string {
  const raw = readFileSync(path);
  return (path.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
}

/**
 * Aperio XML polygons to instance boxes. An image without an XML is left out (reported): a merged
 * binary mask would not stand in for it, because touching objects merge into one component.
 */
export async function convertAperio(o: AperioOptions): Promise<ConvertReport> {
  const imgs = listImages(o.images);
  const dirs = folderList(o.annotations);
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  const noXml: string[] = [];
  let regions = 0;
  let gz = 0;
  for (const [id, src] of imgs) {
    const xml = dirs.flatMap((d) => [join(d, `${id}.xml`), join(d, `${id}.xml.gz`)]).find((p) => existsSync(p));
    if (!xml) {
      noXml.push(id);
      continue;
    }
    if (xml.endsWith(".gz")) gz++;
    const size = await readImageSize(src);
    const parsed = parseAperioRegions(readXml(xml), xml);
    skipped.push(...parsed.skipped);
    const boxes = [];
    for (const b of parsed.boxes) {
      const c = clipBox(b, size.width, size.height);
      if (c) boxes.push({ bbox: c, category: o.category });
      else skipped.push(`${xml}: a region at ${b.map((v) => v.toFixed(1)).join(",")} lies outside the ${size.width}x${size.height} image`);
    }
    regions += boxes.length;
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  if (noXml.length > 0) skipped.push(`${summarizeIds(noXml)} have no <id>.xml or <id>.xml.gz in ${dirs.join(", ")}: left out`);
  const notes = [`${regions} region(s) of ${images.length} XML file(s) (${gz} gzip-compressed) became instance boxes (the bounds of each outline)`];
  return writeConverted(images, o, { categoryOrder: [o.category], skipped, notes });
}
