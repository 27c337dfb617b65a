/**
 * Pure scale helpers for the SVG charts. Accuracies are fractions in [0, 1]; axes show percent.
 * Kept free of Svelte and the DOM so they are unit-tested in Node.
 */

export type Domain = readonly [number, number];
type Range = readonly [number, number];

/** A scale maps a value to a pixel position; `ticks` are values worth labelling. */
export interface Scale {
  (value: number): number;
  domain: Domain;
  range: Range;
  ticks: number[];
  /** the label of a tick, e.g. "72" for 0.72 on a percent axis */
  format: (value: number) => string;
}

/**
 * Step of "nice" ticks (1, 2 or 5 times a power of ten) so that about `count` ticks cover [lo, hi].
 * Uses the same thresholds as the classic Heckbert / d3 rule: √50, √10, √2.
 */
export function tickStep(lo: number, hi: number, count: number): number {
  const raw = Math.abs(hi - lo) / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 0;
  const power = Math.floor(Math.log10(raw));
  const base = 10 ** power;
  const error = raw / base;
  const factor = error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.sqrt(2) ? 2 : 1;
  return factor * base;
}

/** Multiples of the nice step inside [lo, hi], computed as integers times the step to avoid drift. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (lo === hi) return [lo];
  const [a, b] = lo < hi ? [lo, hi] : [hi, lo];
  const step = tickStep(a, b, count);
  if (step === 0) return [a];
  const inverse = step < 1 ? Math.round(1 / step) : 0;
  const first = Math.ceil(inverse ? a * inverse - 1e-9 : a / step - 1e-9);
  const last = Math.floor(inverse ? b * inverse + 1e-9 : b / step + 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(inverse ? i / inverse : i * step);
  return ticks;
}

/**
 * The domain widened outward to the nice step, so the frame starts and ends on a tick. Widening can change
 * the step, so repeat until it settles.
 */
export function niceDomain(lo: number, hi: number, count = 5): Domain {
  let start = lo;
  let stop = hi;
  let previous = NaN;
  for (let i = 0; i < 10; i++) {
    const step = tickStep(start, stop, count);
    if (step === 0 || step === previous) break;
    // Divide by 0.05 as multiply by 20: 0.7 / 0.05 is 13.999… in floating point, 0.7 * 20 is 14.
    const inverse = step < 1 ? Math.round(1 / step) : 0;
    start = inverse ? Math.floor(start * inverse) / inverse : Math.floor(start / step) * step;
    stop = inverse ? Math.ceil(stop * inverse) / inverse : Math.ceil(stop / step) * step;
    previous = step;
  }
  return [start, stop];
}

/**
 * The extent of the finite values, padded by `pad` of its width on both sides (a single value gets ±1 point),
 * clamped to [0, 1] because the values are accuracies.
 */
export function accuracyExtent(values: ReadonlyArray<number | null | undefined>, pad = 0.06): Domain | null {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (finite.length === 0) return null;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  const width = hi - lo;
  const margin = width > 0 ? width * pad : 0.01;
  lo = Math.max(0, lo - margin);
  hi = Math.min(1, hi + margin);
  return [lo, hi];
}

/** Digits a percent label needs so neighbouring ticks differ (0 for steps of 1 point or more). */
export function percentDigits(step: number): number {
  if (!(step > 0)) return 0;
  return Math.max(0, Math.min(3, Math.ceil(-Math.log10(step * 100) - 1e-9)));
}

export function linearScale(
  domain: Domain,
  range: Range,
  options: { count?: number; percent?: boolean; integer?: boolean } = {},
): Scale {
  const count = options.count ?? 5;
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const map = ((value: number) =>
    span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0)) as Scale;
  map.domain = domain;
  map.range = range;
  const step = tickStep(d0, d1, count);
  // Counts (models, steps) get whole-number ticks only.
  map.ticks = options.integer
    ? niceTicks(d0, d1, count).filter((t) => Number.isInteger(t))
    : niceTicks(d0, d1, count);
  if (options.integer && map.ticks.length < 2) {
    map.ticks = [];
    for (let t = Math.ceil(Math.min(d0, d1)); t <= Math.floor(Math.max(d0, d1)); t++) map.ticks.push(t);
  }
  const digits = options.integer
    ? 0
    : options.percent
      ? percentDigits(step)
      : Math.max(0, Math.ceil(-Math.log10(step || 1) - 1e-9));
  map.format = options.percent ? (v) => (v * 100).toFixed(digits) : (v) => v.toFixed(digits);
  return map;
}

/** log(p / (1 − p)), written with log1p so p near 0 keeps its precision. */
export function logit(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

/** Accuracies plotted on a logit axis are clamped away from 0 and 1, where the logit is infinite. */
const LOGIT_CLAMP = 1e-4;

const clampProbability = (p: number) => Math.min(1 - LOGIT_CLAMP, Math.max(LOGIT_CLAMP, p));

/** Percent values people read on logit axes (WiSE-FT's plots use such ticks); the finer list serves narrow domains. */
const LOGIT_TICKS_COARSE = [
  0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999,
];
const LOGIT_TICKS_FINE = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65,
  0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999,
];

/**
 * Ticks for a logit axis over [lo, hi]: round percentages inside the domain, thinned to at most `count` by
 * keeping those spaced evenly in logit space; a narrow domain falls back to linear ticks.
 */
export function logitTicks(lo: number, hi: number, count = 5): number[] {
  const within = (list: number[]) => list.filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12);
  const coarse = within(LOGIT_TICKS_COARSE);
  const inside = coarse.length >= 3 ? coarse : within(LOGIT_TICKS_FINE);
  if (inside.length < 2) return niceTicks(lo, hi, count);
  if (inside.length <= count) return inside;
  const l0 = logit(clampProbability(lo));
  const l1 = logit(clampProbability(hi));
  const chosen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const target = l0 + ((l1 - l0) * i) / (count - 1);
    let best = inside[0]!;
    for (const t of inside) if (Math.abs(logit(t) - target) < Math.abs(logit(best) - target)) best = t;
    chosen.add(best);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** A scale that is linear in logit(p): equal distances are equal odds ratios, as in WiSE-FT's figures. */
export function logitScale(domain: Domain, range: Range, count = 5): Scale {
  const [r0, r1] = range;
  const l0 = logit(clampProbability(domain[0]));
  const l1 = logit(clampProbability(domain[1]));
  const span = l1 - l0;
  const map = ((value: number) => {
    const l = logit(clampProbability(value));
    return span === 0 ? (r0 + r1) / 2 : r0 + ((l - l0) / span) * (r1 - r0);
  }) as Scale;
  map.domain = domain;
  map.range = range;
  map.ticks = logitTicks(domain[0], domain[1], count);
  map.format = (v) => {
    const pct = v * 100;
    return Number.isInteger(Math.round(pct * 1000) / 1000)
      ? pct.toFixed(0)
      : String(Number(pct.toPrecision(3)));
  };
  return map;
}

/** The percent scale for an accuracy axis, linear or logit, over the (padded) values. */
export function accuracyScale(
  values: ReadonlyArray<number | null | undefined>,
  range: Range,
  options: { logit?: boolean; count?: number } = {},
): Scale {
  const extent = accuracyExtent(values) ?? [0, 1];
  if (options.logit) return logitScale(extent, range, options.count ?? 5);
  const count = options.count ?? 5;
  const nice = niceDomain(extent[0], extent[1], count);
  return linearScale([Math.max(0, nice[0]), Math.min(1, nice[1])], range, { count, percent: true });
}

/**
 * Whether `value` lies farther outside the range of `others` than that range is wide: plotting it would
 * squash the others into a corner (a base model far below its fine-tuned runs).
 */
export function isFarOutside(value: number, others: readonly number[], factor = 1): boolean {
  if (others.length < 2) return false;
  const lo = Math.min(...others);
  const hi = Math.max(...others);
  const span = Math.max(hi - lo, 0.01);
  const distance = value < lo ? lo - value : value > hi ? value - hi : 0;
  return distance > factor * span;
}

/** The value clamped into the scale's domain, and whether it had to be. */
export function clampToDomain(scale: Scale, value: number): { value: number; clamped: boolean } {
  const lo = Math.min(scale.domain[0], scale.domain[1]);
  const hi = Math.max(scale.domain[0], scale.domain[1]);
  const clampedValue = Math.min(hi, Math.max(lo, value));
  return { value: clampedValue, clamped: clampedValue !== value };
}
