/** What every converter produces before it is written as a COCO folder (common.ts) or cut into tiles (tiles.ts). */
export interface ConvertedBox {
  bbox: [number, number, number, number];
  category: string;
  /** COCO iscrowd = 1: an "ignore" region (VOC `difficult`): not trained on, neither TP nor FP in eval. */
  crowd?: boolean;
}

export interface ConvertedImage {
  /** Source file; copied byte for byte into out/images/ (or cut by `crop`). */
  src: string;
  width: number;
  height: number;
  boxes: ConvertedBox[];
  /** Write only this region of `src` (a tile), as a lossless PNG named `name`; width/height are the region's. */
  crop?: { left: number; top: number; name: string };
  /** Extra fields of the image's COCO record (e.g. `source_split`, `source_image`). */
  extra?: Record<string, unknown>;
}
