import type { SymbolType } from 'd3-shape';
import { KIND_STYLES } from './palette.js';
import type { ModelKind } from './types.js';

/** One legend entry: a marker, a line, or both. */
export interface LegendItem {
  label: string;
  color: string;
  shape?: SymbolType;
  filled?: boolean;
  /** draw a line sample (with this dash pattern; '' is solid) */
  dash?: string;
}

/** Legend entries for the kinds present, in drawing order. */
export function kindLegend(
  kinds: Iterable<ModelKind>,
  labels: Partial<Record<ModelKind, string>> = {},
): LegendItem[] {
  return [...new Set(kinds)]
    .sort((a, b) => KIND_STYLES[a].order - KIND_STYLES[b].order)
    .map((kind) => {
      const style = KIND_STYLES[kind];
      return {
        label: labels[kind] ?? style.label,
        color: style.color,
        shape: style.shape,
        filled: style.filled,
      };
    });
}
