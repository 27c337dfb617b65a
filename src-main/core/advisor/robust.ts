/**
 * The outlier rule: the modified z-score of Iglewicz and Hoaglin, z = (x − median) / (1.4826 · MAD).
 * 1.4826 makes the MAD estimate the standard deviation for normal data; |z| > 3.5 is their recommended cut.
 * Median and MAD ignore the outliers themselves, which a mean and standard deviation would not: with two
 * runs out of fifteen far away, they would inflate the spread enough to hide each other.
 */
export const MAD_SCALE = 1.4826;
export const OUTLIER_Z = 3.5;
/** When more than half of the values are equal the MAD is 0; the mean absolute deviation (× √(π/2)) stands in. */
const MEAN_AD_SCALE = Math.sqrt(Math.PI / 2);

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A robust estimate of the standard deviation: 1.4826 · MAD, or the scaled mean absolute deviation when MAD = 0. */
export function robustSpread(values: readonly number[]): number {
  const m = median(values);
  const deviations = values.map((v) => Math.abs(v - m));
  const mad = median(deviations);
  if (mad > 0) return MAD_SCALE * mad;
  return (MEAN_AD_SCALE * deviations.reduce((a, b) => a + b, 0)) / Math.max(1, deviations.length);
}

/** Modified z-scores; all 0 when the values do not spread at all (nothing stands out). */
export function robustZ(values: readonly number[]): number[] {
  const m = median(values);
  const spread = robustSpread(values);
  return values.map((v) => (spread > 0 ? (v - m) / spread : 0));
}
