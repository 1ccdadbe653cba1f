/**
 * Hand-written SVG figures for the audit report: a heatmap with values in the cells and a colour
 * bar (paper Figs 3 and 5) and a line chart of AP over steps (Fig. 4). Plain SVG 1.1 so that
 * librsvg (sharp) renders the same picture a browser shows.
 */

const FONT = "DejaVu Sans, Arial, Helvetica, sans-serif";

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Viridis control points, interpolated linearly in RGB. */
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [109, 205, 89],
  [180, 222, 44],
  [253, 231, 37],
];

export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

const rgb = (c: [number, number, number]) => `rgb(${c[0]},${c[1]},${c[2]})`;
/** Black on light cells, white on dark ones (relative luminance). */
function textOn(c: [number, number, number]): string {
  const l = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  return l > 140 ? "#000" : "#fff";
}

function textWidth(s: string, size: number): number {
  return s.length * size * 0.6;
}

export interface HeatmapSpec {
  title: string;
  rowLabels: string[];
  colLabels: string[];
  values: (number | null)[][];
  xLabel: string;
  yLabel: string;
  /** Colour range; defaults to [0, max(100, data max)] so AP% figures share one scale. */
  min?: number;
  max?: number;
  /** Decimals shown in the cells. */
  digits?: number;
}

/**
 * Every cell is `<g class="cell" data-row data-col data-value>` with a rect and its value as text,
 * so tests (and people) can read the numbers back from the SVG.
 */
export function heatmapSvg(spec: HeatmapSpec): string {
  const { rowLabels, colLabels, values } = spec;
  const digits = spec.digits ?? 1;
  const flat = values.flat().filter((v): v is number => v !== null);
  const min = spec.min ?? 0;
  const max = spec.max ?? Math.max(100, ...flat);
  const cell = 64;
  const cellH = 40;
  const fs = 13;
  const rowLabW = Math.max(60, ...rowLabels.map((l) => textWidth(l, fs))) + 12;
  const colLabH = Math.max(40, ...colLabels.map((l) => textWidth(l, fs) * 0.75)) + 10;
  const left = 36 + rowLabW;
  const top = 44 + colLabH;
  const gridW = cell * colLabels.length;
  const gridH = cellH * rowLabels.length;
  const barX = left + gridW + 28;
  const barW = 16;
  const width = barX + barW + 60;
  const height = top + gridH + 56;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(spec.title)}</text>`,
  );
  colLabels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    const y = top - 8;
    out.push(`<text x="${x}" y="${y}" font-size="${fs}" text-anchor="start" transform="rotate(-40 ${x} ${y})">${escapeXml(l)}</text>`);
  });
  rowLabels.forEach((l, i) => {
    out.push(`<text x="${left - 8}" y="${top + i * cellH + cellH / 2 + fs / 3}" font-size="${fs}" text-anchor="end">${escapeXml(l)}</text>`);
  });
  values.forEach((row, i) =>
    row.forEach((v, j) => {
      const x = left + j * cell;
      const y = top + i * cellH;
      if (v === null) {
        out.push(
          `<g class="cell" data-row="${i}" data-col="${j}" data-value=""><rect x="${x}" y="${y}" width="${cell}" height="${cellH}" fill="#e5e5e5" stroke="#fff"/>` +
            `<text x="${x + cell / 2}" y="${y + cellH / 2 + fs / 3}" font-size="${fs}" text-anchor="middle" fill="#777">n/a</text></g>`,
        );
        return;
      }
      const c = viridis((v - min) / (max - min || 1));
      out.push(
        `<g class="cell" data-row="${i}" data-col="${j}" data-value="${v}"><rect x="${x}" y="${y}" width="${cell}" height="${cellH}" fill="${rgb(c)}" stroke="#fff"/>` +
          `<text x="${x + cell / 2}" y="${y + cellH / 2 + fs / 3}" font-size="${fs}" text-anchor="middle" fill="${textOn(c)}">${v.toFixed(digits)}</text></g>`,
      );
    }),
  );
  // Axis titles.
  out.push(`<text x="${left + gridW / 2}" y="${top + gridH + 34}" font-size="14" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  const yx = 18;
  const yy = top + gridH / 2;
  out.push(`<text x="${yx}" y="${yy}" font-size="14" text-anchor="middle" transform="rotate(-90 ${yx} ${yy})">${escapeXml(spec.yLabel)}</text>`);
  // Colour bar with ticks.
  const steps = 50;
  out.push('<g class="colorbar">');
  for (let s = 0; s < steps; s++) {
    const t = 1 - s / steps;
    const y = top + (gridH * s) / steps;
    out.push(`<rect x="${barX}" y="${y.toFixed(2)}" width="${barW}" height="${(gridH / steps + 0.5).toFixed(2)}" fill="${rgb(viridis(t))}"/>`);
  }
  out.push(`<rect x="${barX}" y="${top}" width="${barW}" height="${gridH}" fill="none" stroke="#333"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = min + ((max - min) * k) / 4;
    const y = top + gridH - (gridH * k) / 4;
    out.push(`<line x1="${barX + barW}" x2="${barX + barW + 4}" y1="${y}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${barX + barW + 7}" y="${y + 4}" font-size="11">${Number(v.toFixed(1))}</text>`);
  }
  out.push("</g>", "</svg>");
  return out.join("\n");
}

export interface LineChartSpec {
  title: string;
  xLabels: string[];
  /** `colorOf` draws a series in the colour of another one (by index), e.g. raw values beside their smoothing. */
  series: { name: string; values: (number | null)[]; dashed?: boolean; colorOf?: number }[];
  xLabel: string;
  yLabel: string;
  yMax?: number;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** AP over steps, one line per series; a null value breaks the line. */
export function lineChartSvg(spec: LineChartSpec): string {
  const all = spec.series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  const yMax = spec.yMax ?? Math.max(100, ...all);
  const legendW = Math.max(120, ...spec.series.map((s) => textWidth(s.name, 12) + 40));
  const left = 64;
  const top = 44;
  // A long legend widens the figure rather than squeezing the plot.
  const plotW = Math.max(720 - left - legendW - 24, 440);
  const width = left + plotW + legendW + 24;
  const plotH = 300;
  const height = top + plotH + 90;
  const n = spec.xLabels.length;
  const xAt = (i: number) => left + (n <= 1 ? plotW / 2 : (plotW * i) / (n - 1));
  const yAt = (v: number) => top + plotH - (plotH * v) / yMax;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(spec.title)}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = (yMax * k) / 5;
    const y = yAt(v);
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${Number(v.toFixed(1))}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  // At most about 15 labels fit under the axis; the others keep their tick only.
  const labelEvery = Math.max(1, Math.ceil(n / 15));
  spec.xLabels.forEach((l, i) => {
    const x = xAt(i);
    out.push(`<line x1="${x}" x2="${x}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#333"/>`);
    const lastApart = i === n - 1 && i % labelEvery > labelEvery / 2;
    if (i % labelEvery !== 0 && !lastApart) return;
    out.push(`<text x="${x}" y="${top + plotH + 12}" font-size="11" text-anchor="end" transform="rotate(-30 ${x} ${top + plotH + 12})">${escapeXml(l)}</text>`);
  });
  out.push(`<text x="${left + plotW / 2}" y="${height - 10}" font-size="14" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text x="16" y="${top + plotH / 2}" font-size="14" text-anchor="middle" transform="rotate(-90 16 ${top + plotH / 2})">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, si) => {
    const color = PALETTE[(s.colorOf ?? si) % PALETTE.length];
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${xAt(i).toFixed(1)},${yAt(v).toFixed(1)} `;
      pen = true;
    });
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : "";
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (d) out.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>`);
    s.values.forEach((v, i) => {
      if (v !== null) out.push(`<circle cx="${xAt(i).toFixed(1)}" cy="${yAt(v).toFixed(1)}" r="3.5" fill="${color}"/>`);
    });
    out.push("</g>");
    const ly = top + 10 + si * 20;
    const lx = left + plotW + 20;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${dash}/>`);
    out.push(`<text x="${lx + 28}" y="${ly + 4}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
  /** Points of one group share a colour; the first group is drawn filled, the others hollow. */
  group: string;
}

export interface ScatterPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Logarithmic x axis (e.g. a sharpness measure spanning decades). */
  logX?: boolean;
  points: ScatterPoint[];
}

/** Scatter plots side by side, each point labelled: e.g. synthetic domains beside the real ones. */
export function scatterPanelsSvg(title: string, panels: ScatterPanel[]): string {
  const panelW = 360;
  const panelH = 300;
  const pad = { left: 58, right: 16, top: 52, bottom: 48 };
  const width = panels.length * (panelW + pad.left + pad.right);
  const height = panelH + pad.top + pad.bottom + 30;
  const groups = [...new Set(panels.flatMap((p) => p.points.map((q) => q.group)))];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" font-size="16" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  panels.forEach((p, pi) => {
    const x0 = pi * (panelW + pad.left + pad.right) + pad.left;
    const y0 = pad.top;
    const tx = (v: number): number => (p.logX ? Math.log10(Math.max(v, 1e-9)) : v);
    const xs = p.points.map((q) => tx(q.x));
    const ys = p.points.map((q) => q.y);
    const span = (vs: number[]): [number, number] => {
      const lo = Math.min(...vs);
      const hi = Math.max(...vs);
      const m = (hi - lo || Math.abs(hi) || 1) * 0.1;
      return [lo - m, hi + m];
    };
    const [xl, xh] = span(xs);
    const [yl, yh] = span(ys);
    const px = (v: number): number => x0 + ((tx(v) - xl) / (xh - xl)) * panelW;
    const py = (v: number): number => y0 + panelH - ((v - yl) / (yh - yl)) * panelH;
    out.push(`<g class="panel" data-title="${escapeXml(p.title)}">`);
    out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="none" stroke="#888"/>`);
    out.push(`<text x="${x0 + panelW / 2}" y="${y0 - 10}" font-size="13" text-anchor="middle">${escapeXml(p.title)}</text>`);
    for (let k = 0; k <= 4; k++) {
      const xv = xl + ((xh - xl) * k) / 4;
      const yv = yl + ((yh - yl) * k) / 4;
      const xText = p.logX ? (10 ** xv).toPrecision(2) : xv.toPrecision(3);
      out.push(`<text x="${(x0 + (panelW * k) / 4).toFixed(1)}" y="${y0 + panelH + 16}" font-size="10" text-anchor="middle">${escapeXml(String(Number(xText)))}</text>`);
      out.push(`<text x="${x0 - 6}" y="${(y0 + panelH - (panelH * k) / 4 + 3).toFixed(1)}" font-size="10" text-anchor="end">${escapeXml(String(Number(yv.toPrecision(3))))}</text>`);
    }
    out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 36}" font-size="12" text-anchor="middle">${escapeXml(p.xLabel)}${p.logX ? " (log)" : ""}</text>`);
    out.push(`<text x="${x0 - 44}" y="${y0 + panelH / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${x0 - 44} ${y0 + panelH / 2})">${escapeXml(p.yLabel)}</text>`);
    for (const q of p.points) {
      const gi = groups.indexOf(q.group);
      const color = PALETTE[gi % PALETTE.length];
      const cx = px(q.x).toFixed(1);
      const cy = py(q.y).toFixed(1);
      out.push(`<circle cx="${cx}" cy="${cy}" r="5" fill="${gi === 0 ? color : "#fff"}" stroke="${color}" stroke-width="2"><title>${escapeXml(`${q.group}: ${q.label}`)}</title></circle>`);
      out.push(`<text x="${(Number(cx) + 7).toFixed(1)}" y="${(Number(cy) - 6).toFixed(1)}" font-size="10" fill="${color}">${escapeXml(q.label)}</text>`);
    }
    out.push("</g>");
  });
  groups.forEach((g, gi) => {
    const color = PALETTE[gi % PALETTE.length];
    const lx = pad.left + gi * 160;
    const ly = height - 12;
    out.push(`<circle cx="${lx}" cy="${ly - 4}" r="5" fill="${gi === 0 ? color : "#fff"}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 10}" y="${ly}" font-size="12">${escapeXml(g)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}
