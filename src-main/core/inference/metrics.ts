export const ECE_BINS = 15;

/** Logits of N examples over C classes, row-major. */
export interface Logits {
  n: number;
  classes: number;
  data: Float32Array;
}

export interface Metrics {
  n: number;
  /** integer count of top-1 hits: greedy decisions compare these, never rounded fractions */
  correct: number;
  top1: number;
  /** null when there are fewer than 5 classes */
  top5: number | null;
  /** null when any example's logits are not finite: a model that outputs NaN or ±Inf has no likelihood */
  nll: number | null;
  /** null under the same condition as nll (its confidences are undefined) */
  ece: number | null;
  /** examples whose logits hold NaN or ±Inf; each counts as a miss for top-1, top-5 and per-class accuracy */
  nonFinite: number;
  /** accuracy per class (of the subset when one is given), null for classes without examples */
  perClass: Array<number | null>;
}

/** Restrict logits to a class subset (ImageNet-R/A style): column j of the result is logit subset[j]. */
export function restrictToSubset(logits: Logits, subset: readonly number[] | null): Logits {
  if (!subset) return logits;
  const out = new Float32Array(logits.n * subset.length);
  for (let i = 0; i < logits.n; i++) {
    const row = i * logits.classes;
    for (let j = 0; j < subset.length; j++) out[i * subset.length + j] = logits.data[row + subset[j]!]!;
  }
  return { n: logits.n, classes: subset.length, data: out };
}

/** Index of the largest logit; the first on ties, as numpy and torch do. */
export function argmaxRow(data: Float32Array, offset: number, classes: number): number {
  let best = 0;
  let bestValue = data[offset]!;
  for (let j = 1; j < classes; j++) {
    const v = data[offset + j]!;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/** Per-example top-1 correctness (1/0), the input of McNemar's test and the bootstrap. */
export function correctness(logits: Logits, labels: Int32Array): Uint8Array {
  const out = new Uint8Array(logits.n);
  for (let i = 0; i < logits.n; i++)
    out[i] = argmaxRow(logits.data, i * logits.classes, logits.classes) === labels[i] ? 1 : 0;
  return out;
}

/** Whether every logit of the row at `offset` is a finite number. */
function finiteRow(data: Float32Array, offset: number, classes: number): boolean {
  for (let j = 0; j < classes; j++) if (!Number.isFinite(data[offset + j]!)) return false;
  return true;
}

/**
 * Top-1, top-5, NLL of softmax(logitScale · logits), ECE (15 equal-width bins over the top softmax
 * probability, bins (lo, hi]) and per-class accuracy, all accumulated in float64.
 * Rows with a NaN or ±Inf logit (overflowing weights, NaN pixels) are counted in `nonFinite` and as misses;
 * their prediction is not a number to trust, and NLL and ECE are then null rather than NaN.
 */
export function computeMetrics(
  raw: Logits,
  labels: Int32Array,
  classSubset: readonly number[] | null = null,
  logitScale = 1,
): Metrics {
  const logits = restrictToSubset(raw, classSubset);
  const { n, classes, data } = logits;
  let correct = 0;
  let top5 = 0;
  let nll = 0;
  const binCount = new Float64Array(ECE_BINS);
  const binConfidence = new Float64Array(ECE_BINS);
  const binCorrect = new Float64Array(ECE_BINS);
  const classTotal = new Float64Array(classes);
  const classCorrect = new Float64Array(classes);
  let nonFinite = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    const label = labels[i]!;
    if (!finiteRow(data, row, classes)) {
      nonFinite++;
      classTotal[label]! += 1;
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logitScale * data[row + j]!);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(logitScale * data[row + j]! - max);
    const logSum = Math.log(sum) + max;
    nll += logSum - logitScale * data[row + label]!;
    const predicted = argmaxRow(data, row, classes);
    const hit = predicted === label ? 1 : 0;
    correct += hit;
    classTotal[label]! += 1;
    classCorrect[label]! += hit;
    if (classes >= 5) {
      const own = data[row + label]!;
      let above = 0;
      for (let j = 0; j < classes; j++)
        if (data[row + j]! > own || (data[row + j]! === own && j < label)) above++;
      if (above < 5) top5++;
    }
    const confidence = Math.exp(logitScale * data[row + predicted]! - logSum);
    const bin = Math.min(ECE_BINS - 1, Math.max(0, Math.ceil(confidence * ECE_BINS) - 1));
    binCount[bin]! += 1;
    binConfidence[bin]! += confidence;
    binCorrect[bin]! += hit;
  }
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    if (binCount[b]! > 0) ece += Math.abs(binCorrect[b]! - binConfidence[b]!) / n;
  }
  const defined = nonFinite === 0;
  return {
    n,
    correct,
    top1: n ? correct / n : 0,
    top5: classes >= 5 ? (n ? top5 / n : 0) : null,
    nll: defined ? (n ? nll / n : 0) : null,
    ece: defined ? ece : null,
    nonFinite,
    perClass: Array.from(classTotal, (t, c) => (t > 0 ? classCorrect[c]! / t : null)),
  };
}

/** The uniform logit ensemble: mean of several models' logits over the same examples. */
export function averageLogits(list: readonly Logits[]): Logits {
  const first = list[0]!;
  const out = new Float64Array(first.data.length);
  for (const l of list) {
    if (l.n !== first.n || l.classes !== first.classes)
      throw new Error('ensemble members disagree on N or the number of classes');
    for (let i = 0; i < out.length; i++) out[i]! += l.data[i]!;
  }
  const data = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) data[i] = out[i]! / list.length;
  return { n: first.n, classes: first.classes, data };
}
