import { createHash } from 'node:crypto';
import type { EvalSet } from './evalset.js';

/** One hash per example over all its input tensors (labels excluded: a duplicated image is a leak whatever its label). */
export function exampleHashes(set: EvalSet): string[] {
  const rowBytes = set.inputs.map((input) => input.bytes.byteLength / set.n);
  const out: string[] = new Array<string>(set.n);
  for (let i = 0; i < set.n; i++) {
    const h = createHash('sha1');
    set.inputs.forEach((input, k) => {
      const size = rowBytes[k]!;
      h.update(input.bytes.subarray(i * size, (i + 1) * size));
    });
    out[i] = h.digest('hex');
  }
  return out;
}

export interface LeakageReport {
  /** names (as shown) and files of the holdout and of the set it leaks into; names repeat across kitchens */
  holdout: string;
  holdoutPath: string;
  other: string;
  otherPath: string;
  role: string;
  /** number of distinct holdout examples that also appear in the other set */
  shared: number;
  /** a few holdout indices, to look at */
  examples: number[];
  message: string;
}

/** Holdout examples that also appear in id or shift sets: selecting on them would flatter the soups. */
export function findLeakage(
  holdout: EvalSet,
  others: Array<{ set: EvalSet; role: string }>,
): LeakageReport[] {
  const holdoutHashes = exampleHashes(holdout);
  const reports: LeakageReport[] = [];
  for (const { set, role } of others) {
    if (set.file === holdout.file) continue;
    const otherHashes = new Set(exampleHashes(set));
    const indices: number[] = [];
    holdoutHashes.forEach((h, i) => {
      if (otherHashes.has(h)) indices.push(i);
    });
    if (indices.length) {
      reports.push({
        holdout: holdout.name,
        holdoutPath: holdout.file,
        other: set.name,
        otherPath: set.file,
        role,
        shared: indices.length,
        examples: indices.slice(0, 10),
        message: `${indices.length} of ${holdout.n} holdout examples of "${holdout.name}" also appear in ${role} set "${set.name}"; greedy and learned soups selected on them will look better on "${set.name}" than they are`,
      });
    }
  }
  return reports;
}
