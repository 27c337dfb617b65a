import { seededRandom } from '../inference/stats.js';

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: C = B · diag(values) · Bᵀ. */
export function symmetricEigen(matrix: number[][]): { values: number[]; vectors: number[][] } {
  const n = matrix.length;
  const a = matrix.map((row) => [...row]);
  const v: number[][] = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i]![j]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((row, i) => row[i]!), vectors: v };
}

/**
 * CMA-ES (μ/μ_w, λ) with rank-one and rank-μ covariance updates, after Hansen's tutorial
 * (arXiv 1604.00772), seeded so a recipe replays exactly. Minimises; the caller owns the budget.
 */
export class CmaEs {
  readonly dim: number;
  readonly lambda: number;
  private readonly mu: number;
  private readonly weights: number[];
  private readonly mueff: number;
  private readonly cc: number;
  private readonly cs: number;
  private readonly c1: number;
  private readonly cmu: number;
  private readonly damps: number;
  private readonly chiN: number;
  private mean: number[];
  private sigma: number;
  private pc: number[];
  private ps: number[];
  private C: number[][];
  private B: number[][];
  private D: number[];
  private generation = 0;
  private readonly random: () => number;

  constructor(start: readonly number[], sigma: number, seed: number) {
    const n = start.length;
    this.dim = n;
    this.lambda = 4 + Math.floor(3 * Math.log(n));
    this.mu = Math.floor(this.lambda / 2);
    const raw = Array.from({ length: this.mu }, (_, i) => Math.log(this.mu + 0.5) - Math.log(i + 1));
    const total = raw.reduce((a, b) => a + b, 0);
    this.weights = raw.map((w) => w / total);
    this.mueff = 1 / this.weights.reduce((a, w) => a + w * w, 0);
    this.cc = (4 + this.mueff / n) / (n + 4 + (2 * this.mueff) / n);
    this.cs = (this.mueff + 2) / (n + this.mueff + 5);
    this.c1 = 2 / ((n + 1.3) ** 2 + this.mueff);
    this.cmu = Math.min(1 - this.c1, (2 * (this.mueff - 2 + 1 / this.mueff)) / ((n + 2) ** 2 + this.mueff));
    this.damps = 1 + 2 * Math.max(0, Math.sqrt((this.mueff - 1) / (n + 1)) - 1) + this.cs;
    this.chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
    this.mean = [...start];
    this.sigma = sigma;
    this.pc = new Array<number>(n).fill(0);
    this.ps = new Array<number>(n).fill(0);
    this.C = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
    this.B = this.C.map((row) => [...row]);
    this.D = new Array<number>(n).fill(1);
    this.random = seededRandom(seed);
  }

  private gaussian(): number {
    // Box–Muller; 1 − u keeps the logarithm finite
    const u = 1 - this.random();
    const v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** λ new candidate points. */
  ask(): number[][] {
    const n = this.dim;
    return Array.from({ length: this.lambda }, () => {
      const z = Array.from({ length: n }, () => this.gaussian());
      return this.mean.map((m, i) => {
        let y = 0;
        for (let j = 0; j < n; j++) y += this.B[i]![j]! * this.D[j]! * z[j]!;
        return m + this.sigma * y;
      });
    });
  }

  /** Update from the candidates' losses (any subset of an ask(), at least μ of them). */
  tell(points: number[][], losses: number[]): void {
    const n = this.dim;
    const order = losses.map((f, i) => ({ f, i })).sort((a, b) => a.f - b.f);
    const mu = Math.min(this.mu, points.length);
    const w = this.weights.slice(0, mu);
    const wsum = w.reduce((a, b) => a + b, 0);
    const weights = w.map((x) => x / wsum);
    const old = this.mean;
    const selected = order.slice(0, mu).map((o) => points[o.i]!);
    this.mean = old.map((_, d) => selected.reduce((acc, x, k) => acc + weights[k]! * x[d]!, 0));
    const yw = this.mean.map((m, d) => (m - old[d]!) / this.sigma);
    // C^(-1/2) · yw = B · diag(1/D) · Bᵀ · yw
    const bt = Array.from(
      { length: n },
      (_, j) => this.B.reduce((acc, row, i) => acc + row[j]! * yw[i]!, 0) / this.D[j]!,
    );
    const invSqrtCyw = Array.from({ length: n }, (_, i) =>
      this.B[i]!.reduce((acc, b, j) => acc + b * bt[j]!, 0),
    );
    const csFactor = Math.sqrt(this.cs * (2 - this.cs) * this.mueff);
    this.ps = this.ps.map((p, i) => (1 - this.cs) * p + csFactor * invSqrtCyw[i]!);
    this.generation++;
    const psNorm = Math.sqrt(this.ps.reduce((a, p) => a + p * p, 0));
    const hsig =
      psNorm / Math.sqrt(1 - (1 - this.cs) ** (2 * this.generation)) / this.chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const ccFactor = Math.sqrt(this.cc * (2 - this.cc) * this.mueff);
    this.pc = this.pc.map((p, i) => (1 - this.cc) * p + hsig * ccFactor * yw[i]!);
    const steps = selected.map((x) => x.map((v, d) => (v - old[d]!) / this.sigma));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let rankMu = 0;
        steps.forEach((s, k) => (rankMu += weights[k]! * s[i]! * s[j]!));
        const rankOne = this.pc[i]! * this.pc[j]! + (1 - hsig) * this.cc * (2 - this.cc) * this.C[i]![j]!;
        this.C[i]![j] = (1 - this.c1 - this.cmu) * this.C[i]![j]! + this.c1 * rankOne + this.cmu * rankMu;
      }
    }
    this.sigma *= Math.exp((this.cs / this.damps) * (psNorm / this.chiN - 1));
    const { values, vectors } = symmetricEigen(this.C);
    this.D = values.map((v) => Math.sqrt(Math.max(v, 1e-20)));
    this.B = vectors;
  }

  get currentMean(): number[] {
    return [...this.mean];
  }

  get stepSize(): number {
    return this.sigma;
  }
}
