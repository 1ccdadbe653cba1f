/**
 * Boxes (x, y, w, h) of the 8-connected components of a binary mask with at least `minArea` pixels.
 * `stats.dropped` (when given) is increased by the number of smaller components left out.
 */
export function componentBoxes(mask: Uint8Array, width: number, height: number, minArea: number, stats?: { dropped: number }): [number, number, number, number][] {
  const label = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  const boxes: [number, number, number, number][] = [];
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    next++;
    let sp = 0;
    stack[sp++] = start;
    label[start] = next;
    let area = 0;
    let minX = width;
    let minY = height;
    let maxX = -1;
    let maxY = -1;
    while (sp > 0) {
      const p = stack[--sp];
      area++;
      const x = p % width;
      const y = (p - x) / width;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && !label[q]) {
            label[q] = next;
            stack[sp++] = q;
          }
        }
      }
    }
    if (area >= minArea) boxes.push([minX, minY, maxX - minX + 1, maxY - minY + 1]);
    else if (stats) stats.dropped++;
  }
  return boxes;
}
