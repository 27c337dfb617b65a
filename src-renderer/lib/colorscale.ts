/**
 * A sequential colour scale per table column. Cells get a background mixed from the theme's scale colour
 * and the page background, so lightness grows monotonically with the value (readable without hue, in
 * print, and in both themes) and the text on top keeps its contrast.
 */

interface ColumnScale {
  min: number;
  max: number;
  /** position of a value in [0, 1], or null when it has no colour (missing, or the column is constant) */
  position(value: number | null | undefined): number | null;
}

export function columnScale(values: ReadonlyArray<number | null | undefined>): ColumnScale {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const min = finite.length ? Math.min(...finite) : Number.NaN;
  const max = finite.length ? Math.max(...finite) : Number.NaN;
  return {
    min,
    max,
    position(value) {
      if (value === null || value === undefined || !Number.isFinite(value) || !(max > min)) return null;
      return Math.min(1, Math.max(0, (value - min) / (max - min)));
    },
  };
}

/** Share of the scale colour at the low and high end; kept under ~60 % so text stays readable. */
export const MIX_LOW = 6;
export const MIX_HIGH = 58;

/** The CSS background for a position on the scale (null: no background). */
export function scaleBackground(position: number | null): string | null {
  if (position === null) return null;
  const share = MIX_LOW + (MIX_HIGH - MIX_LOW) * position;
  return `color-mix(in srgb, var(--seq-high) ${share.toFixed(1)}%, var(--bg))`;
}
