/** log(n!) by summation, cached; exact enough for binomial tails up to millions of examples. */
const logFactorials: number[] = [0];
function logFactorial(n: number): number {
  for (let k = logFactorials.length; k <= n; k++) logFactorials[k] = logFactorials[k - 1]! + Math.log(k);
  return logFactorials[n]!;
}

export interface McNemarResult {
  /** examples A gets right and B gets wrong */
  onlyA: number;
  /** examples B gets right and A gets wrong */
  onlyB: number;
  /** exact two-sided p-value: 2 · P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1 */
  p: number;
}

/** Exact McNemar test on two models' per-example correctness over the same examples. */
export function mcnemarExact(a: Uint8Array, b: Uint8Array): McNemarResult {
  if (a.length !== b.length) throw new Error(`McNemar needs the same examples: ${a.length} vs ${b.length}`);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) onlyA++;
    else if (!a[i] && b[i]) onlyB++;
  }
  const n = onlyA + onlyB;
  if (n === 0) return { onlyA, onlyB, p: 1 };
  const k = Math.min(onlyA, onlyB);
  let tail = 0;
  for (let i = 0; i <= k; i++)
    tail += Math.exp(logFactorial(n) - logFactorial(i) - logFactorial(n - i) - n * Math.LN2);
  return { onlyA, onlyB, p: Math.min(1, 2 * tail) };
}

/** A small seeded PRNG (mulberry32) so bootstrap intervals are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapInterval {
  low: number;
  high: number;
  level: number;
  resamples: number;
  seed: number;
}

/** Percentile bootstrap confidence interval for top-1 accuracy from per-example correctness. */
export function bootstrapTop1(
  correct: Uint8Array,
  options: { resamples?: number; level?: number; seed?: number } = {},
): BootstrapInterval {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const seed = options.seed ?? 0;
  const n = correct.length;
  const random = seededRandom(seed);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let hits = 0;
    for (let i = 0; i < n; i++) hits += correct[Math.floor(random() * n)]!;
    stats[r] = n ? hits / n : 0;
  }
  stats.sort();
  const alpha = (1 - level) / 2;
  const at = (q: number) => stats[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return { low: at(alpha), high: at(1 - alpha), level, resamples, seed };
}
