/** Pure layout arithmetic for the charts (pixel boxes), unit-tested in Node. */

interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** The plotting area inside an SVG of `width × height` after the margins for axes and labels. */
export interface Frame {
  width: number;
  height: number;
  margin: Margin;
  /** inner plotting box */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  innerWidth: number;
  innerHeight: number;
}

const DEFAULT_MARGIN: Margin = { top: 12, right: 16, bottom: 44, left: 56 };

export function frame(width: number, height: number, margin: Margin = DEFAULT_MARGIN): Frame {
  const innerWidth = Math.max(0, width - margin.left - margin.right);
  const innerHeight = Math.max(0, height - margin.top - margin.bottom);
  return {
    width,
    height,
    margin,
    x0: margin.left,
    x1: margin.left + innerWidth,
    y0: margin.top,
    y1: margin.top + innerHeight,
    innerWidth,
    innerHeight,
  };
}

interface Cell {
  index: number;
  row: number;
  column: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A grid of `count` equal panels across `width`: as many columns as fit at `minCellWidth` (at most
 * `maxColumns`), rows as needed, `gap` between panels; each panel keeps `aspect` = height / width.
 */
export function smallMultiples(
  count: number,
  width: number,
  options: { minCellWidth?: number; maxColumns?: number; gap?: number; aspect?: number } = {},
): { columns: number; rows: number; height: number; cells: Cell[] } {
  const gap = options.gap ?? 12;
  const minCell = options.minCellWidth ?? 220;
  const maxColumns = Math.max(1, options.maxColumns ?? 4);
  if (count <= 0) return { columns: 0, rows: 0, height: 0, cells: [] };
  const fit = Math.max(1, Math.floor((width + gap) / (minCell + gap)));
  const columns = Math.min(count, maxColumns, fit);
  const rows = Math.ceil(count / columns);
  const cellWidth = (width - gap * (columns - 1)) / columns;
  const cellHeight = cellWidth * (options.aspect ?? 0.8);
  const cells: Cell[] = [];
  for (let index = 0; index < count; index++) {
    const row = Math.floor(index / columns);
    const column = index % columns;
    cells.push({
      index,
      row,
      column,
      x: column * (cellWidth + gap),
      y: row * (cellHeight + gap),
      width: cellWidth,
      height: cellHeight,
    });
  }
  return { columns, rows, height: rows * cellHeight + (rows - 1) * gap, cells };
}

/** Square cells of an n × n matrix filling `size` pixels, with the offset of each row/column. */
export function matrixCells(n: number, size: number): { cell: number; offsets: number[] } {
  if (n <= 0) return { cell: 0, offsets: [] };
  const cell = size / n;
  return { cell, offsets: Array.from({ length: n }, (_, i) => i * cell) };
}

/**
 * Horizontal bars for values in [min(0, …), max(0, …)]: the x of the zero line and each bar's start and
 * length, so negative values grow left of zero.
 */
export function bars(
  values: readonly number[],
  x0: number,
  x1: number,
): { zero: number; scale: (v: number) => number; spans: Array<{ start: number; length: number }> } {
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const span = hi - lo || 1;
  const scale = (v: number) => x0 + ((v - lo) / span) * (x1 - x0);
  const zero = scale(0);
  const spans = values.map((v) => {
    const end = scale(v);
    return { start: Math.min(zero, end), length: Math.abs(end - zero) };
  });
  return { zero, scale, spans };
}

/** Rough width of a label in the chart font (about 0.6 em per character) for margin sizing. */
export function labelWidth(text: string, fontSize = 11): number {
  return Math.ceil(text.length * fontSize * 0.6);
}

/**
 * Vertical positions for point labels so that labels whose horizontal extents overlap keep at least
 * `lineHeight` between their baselines: labels are placed top to bottom and pushed down on conflict.
 * Returns one y per item, in the items' order.
 */
export function spreadLabels(
  items: ReadonlyArray<{ x: number; y: number; width: number }>,
  lineHeight = 12,
): number[] {
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.y - items[b]!.y || a - b);
  const placed: Array<{ x0: number; x1: number; y: number }> = [];
  const out = new Array<number>(items.length);
  for (const i of order) {
    const item = items[i]!;
    let y = item.y;
    for (;;) {
      const clash = placed.find(
        (p) => p.x0 < item.x + item.width && item.x < p.x1 && Math.abs(p.y - y) < lineHeight - 1e-9,
      );
      if (!clash) break;
      y = clash.y + lineHeight;
    }
    placed.push({ x0: item.x, x1: item.x + item.width, y });
    out[i] = y;
  }
  return out;
}

/** A label cut to `maxChars` with an ellipsis (the full text stays in the tooltip). */
export function fitLabel(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(1, maxChars - 1))}…`;
}
