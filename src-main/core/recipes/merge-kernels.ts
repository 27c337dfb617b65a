/**
 * The per-tensor arithmetic of the merge methods (task arithmetic, TIES, DARE, SLERP, Model Stock), in
 * float64 over values decoded from the checkpoints. Definitions follow the papers and mergekit's per-tensor
 * semantics (docs/architecture.md, "Merge methods"); tests compare them with an independent NumPy version
 * (tests/fixtures/methods/make_method_fixtures.py).
 */

/** mergekit's SLERP falls back to linear interpolation above this |cos| of the two directions. */
export const SLERP_PARALLEL = 0.9995;
/** mergekit's SLERP leaves a direction unnormalised when its norm is at most this. */
const SLERP_NORM_EPS = 1e-8;
/** mergekit's Model Stock divides by at least this product of norms. */
const MODEL_STOCK_NORM_FLOOR = 1e-6;

/**
 * How many entries TIES keeps of a tensor of `count` entries: ⌊density·count⌋, at least one (mergekit
 * refuses a tensor where that is zero; a bias of one element keeps its entry instead).
 */
export function keptCount(density: number, count: number): number {
  if (density >= 1) return count;
  return Math.max(1, Math.floor(density * count));
}

/**
 * The k-th largest of `values` (1-based), found in place by quickselect (the array is reordered): O(n) on
 * average, so a large tensor's threshold costs no sort.
 */
export function kthLargest(values: Float64Array, k: number): number {
  if (k < 1 || k > values.length) throw new RangeError(`k = ${k} outside 1..${values.length}`);
  // the k-th largest is the (n − k)-th smallest, 0-based
  const target = values.length - k;
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    // median of three as pivot keeps sorted and reversed inputs linear
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target]!;
  }
  return values[target]!;
}

/**
 * TIES's trim threshold of one task vector: the magnitude of its k-th largest entry. Entries whose
 * magnitude is at least the threshold are kept, so entries tied at the threshold all stay.
 */
export function trimThreshold(delta: Float64Array, density: number): number {
  if (density >= 1) return 0;
  const magnitudes = new Float64Array(delta.length);
  for (let i = 0; i < delta.length; i++) magnitudes[i] = Math.abs(delta[i]!);
  return kthLargest(magnitudes, keptCount(density, delta.length));
}

/**
 * TIES at one entry: elect the sign of Σ wᵢ·δᵢ over the trimmed task vectors (+1 when the sum is 0, as
 * mergekit), then the weighted mean of the entries agreeing with it (disjoint mean; 0 when none does).
 * `deltas[i]` is already trimmed (0 where trimmed away).
 */
export function disjointMean(deltas: ArrayLike<number>, weights: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i]! * deltas[i]!;
  const elected = sum >= 0 ? 1 : -1;
  let numerator = 0;
  let divisor = 0;
  for (let i = 0; i < weights.length; i++) {
    const d = deltas[i]!;
    if (Math.sign(d) === elected) {
      numerator += weights[i]! * d;
      divisor += weights[i]!;
    }
  }
  return numerator / (divisor === 0 ? 1 : divisor);
}

/** The coefficients of SLERP on two whole tensors: out = s0·a + s1·b. */
export interface SlerpCoefficients {
  s0: number;
  s1: number;
  /** whether the directions were nearly parallel and SLERP fell back to linear interpolation */
  linear: boolean;
  /** cos of the angle between the (normalised) directions */
  cos: number;
}

/**
 * SLERP at `t` from the norms and dot product of the two tensors (a, b): spherical interpolation of the
 * directions applied to the raw tensors, linear when |cos| > 0.9995 (mergekit's slerp).
 */
export function slerpCoefficients(t: number, aa: number, bb: number, ab: number): SlerpCoefficients {
  const na = Math.sqrt(aa);
  const nb = Math.sqrt(bb);
  const cos = ab / ((na > SLERP_NORM_EPS ? na : 1) * (nb > SLERP_NORM_EPS ? nb : 1));
  if (Math.abs(cos) > SLERP_PARALLEL) return { s0: 1 - t, s1: t, linear: true, cos };
  const omega = Math.acos(cos);
  const sinOmega = Math.sin(omega);
  return {
    s0: Math.sin((1 - t) * omega) / sinOmega,
    s1: Math.sin(t * omega) / sinOmega,
    linear: false,
    cos,
  };
}

/**
 * Model Stock's interpolation ratio from the Gram matrix of k task vectors (gram[i][j] = ⟨δᵢ, δⱼ⟩):
 * cos = mean pairwise cosine (each clipped to [−1, 1], norms floored as mergekit), t = k·cos/((k−1)·cos+1).
 * A negative mean cosine is taken as 0 (t = 0, the base): the formula assumes directions less than 90°
 * apart, and has a pole at cos = −1/(k−1).
 */
export function modelStockRatio(gram: ReadonlyArray<ArrayLike<number>>): { t: number; cos: number } {
  const k = gram.length;
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      const norms = Math.sqrt(gram[i]![i]!) * Math.sqrt(gram[j]![j]!);
      total += Math.max(-1, Math.min(1, gram[i]![j]! / Math.max(norms, MODEL_STOCK_NORM_FLOOR)));
      pairs++;
    }
  }
  const cos = Math.max(0, total / pairs);
  return { t: (k * cos) / ((k - 1) * cos + 1), cos };
}

/** A 32-bit integer mixer (lowbias32, Wellons): every input bit affects every output bit. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a of a tensor name, so a drop pattern depends on the tensor's name, not on its position. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * DARE's drop decisions as a counter-based generator: whether entry `index` of one ingredient's tensor is
 * kept is a pure function of (seed, ingredient, tensor name, index). Reading a tensor in slices of any size,
 * or twice, gives the same decisions bit for bit, and the result does not depend on the tensor order.
 */
export class DropPattern {
  private readonly key: number;
  /** entries whose 32-bit draw is below this are dropped */
  private readonly cut: number;

  constructor(
    seed: number,
    ingredient: number,
    tensor: string,
    readonly drop: number,
  ) {
    this.key = mix32(mix32(mix32(seed >>> 0) ^ Math.imul(ingredient + 1, 0x9e3779b9)) ^ nameHash(tensor));
    this.cut = Math.round(drop * 2 ** 32);
  }

  kept(index: number): boolean {
    // two rounds over (key, index): consecutive indices give unrelated draws
    const draw = mix32(mix32(this.key ^ index) + Math.imul(index >>> 0, 0x9e3779b9));
    return draw >= this.cut;
  }
}
