import type { SymbolType } from 'd3-shape';
import { symbol, symbolCircle, symbolDiamond, symbolSquare, symbolStar, symbolTriangle } from 'd3-shape';
import type { ModelKind } from './types.js';

/**
 * Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), referenced through
 * CSS variables set in ChartFigure.svelte so the dark theme can lighten black; markers differ too, so the
 * charts read in greyscale print.
 */
interface KindStyle {
  label: string;
  color: string;
  shape: SymbolType;
  /** marker area in px² (d3-shape's size) */
  size: number;
  filled: boolean;
  /** drawn above the other points */
  order: number;
}

export const KIND_STYLES: Record<ModelKind, KindStyle> = {
  ingredient: {
    label: 'Fine-tuned model',
    color: 'var(--chart-ingredient)',
    shape: symbolCircle,
    size: 42,
    filled: true,
    order: 0,
  },
  base: {
    label: 'Initialisation (base)',
    color: 'var(--chart-base)',
    shape: symbolSquare,
    size: 80,
    filled: true,
    order: 1,
  },
  interpolation: {
    label: 'Interpolation',
    color: 'var(--chart-interpolation)',
    shape: symbolCircle,
    size: 30,
    filled: true,
    order: 2,
  },
  uniform: {
    label: 'Uniform soup',
    color: 'var(--chart-uniform)',
    shape: symbolCircle,
    size: 110,
    filled: true,
    order: 3,
  },
  learned: {
    label: 'Learned soup',
    color: 'var(--chart-learned)',
    shape: symbolTriangle,
    size: 120,
    filled: true,
    order: 4,
  },
  ensemble: {
    label: 'Ensemble',
    color: 'var(--chart-ensemble)',
    shape: symbolDiamond,
    size: 110,
    filled: true,
    order: 5,
  },
  greedy_ensemble: {
    label: 'Greedy ensemble',
    color: 'var(--chart-ensemble)',
    shape: symbolDiamond,
    size: 110,
    filled: false,
    order: 6,
  },
  greedy: {
    label: 'Greedy soup',
    color: 'var(--chart-greedy)',
    shape: symbolStar,
    size: 190,
    filled: true,
    order: 7,
  },
};

/** Colours for series without a kind (eval sets on interpolation curves), in Okabe–Ito order. */
const SERIES_COLORS = [
  'var(--chart-1)',
  'var(--chart-2)',
  'var(--chart-3)',
  'var(--chart-4)',
  'var(--chart-5)',
  'var(--chart-6)',
  'var(--chart-7)',
];

export function seriesColor(index: number): string {
  return SERIES_COLORS[index % SERIES_COLORS.length]!;
}

/** Dash patterns that tell series apart without colour. */
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2', '10 4', '4 2 1 2'];

export function seriesDash(index: number): string {
  return DASHES[index % DASHES.length]!;
}

/** The SVG path of a marker centred on (0, 0). */
export function markerPath(shape: SymbolType, size: number): string {
  return symbol(shape, size)() ?? '';
}
