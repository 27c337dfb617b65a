import { createHash } from 'node:crypto';
import type { EvalBatch, EvalSet } from './evalset.js';
import { forEachBatch, forEachBatchAsync } from './evalset.js';

/** Stored bytes read at a time while hashing examples: memory stays bounded whatever the set's size. */
const LEAKAGE_BATCH_BYTES = 32 * 1024 * 1024;

/** Hashes already computed, per parsed set (the registry reuses a set while its file is unchanged). */
const memo = new WeakMap<EvalSet, string[]>();

/**
 * One hash per example over all its input tensors (labels excluded: a duplicated image is a leak whatever its
 * label), read from the file a batch at a time.
 */
export function exampleHashes(set: EvalSet): string[] {
  const known = memo.get(set);
  if (known) return known;
  const out: string[] = new Array<string>(set.n);
  forEachBatch(set, LEAKAGE_BATCH_BYTES, (batch) => hashRows(batch, out));
  memo.set(set, out);
  return out;
}

/** exampleHashes with asynchronous reads: the calling thread is free between two 32 MiB batches. */
export async function exampleHashesAsync(set: EvalSet): Promise<string[]> {
  const known = memo.get(set);
  if (known) return known;
  const out: string[] = new Array<string>(set.n);
  await forEachBatchAsync(set, LEAKAGE_BATCH_BYTES, (batch) => hashRows(batch, out));
  memo.set(set, out);
  return out;
}

function hashRows(batch: EvalBatch, out: string[]): void {
  for (let r = 0; r < batch.count; r++) {
    const h = createHash('sha1');
    for (const input of batch.inputs) {
      const size = input.bytes.byteLength / batch.count;
      h.update(input.bytes.subarray(r * size, (r + 1) * size));
    }
    out[batch.start + r] = h.digest('hex');
  }
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
  return compareHashes(holdout, exampleHashes(holdout), others, exampleHashes);
}

/** findLeakage for a thread that serves requests (see exampleHashesAsync). */
export async function findLeakageAsync(
  holdout: EvalSet,
  others: Array<{ set: EvalSet; role: string }>,
): Promise<LeakageReport[]> {
  const wanted = others.filter((o) => o.set.file !== holdout.file);
  const hashes = new Map<EvalSet, string[]>();
  for (const set of [holdout, ...wanted.map((o) => o.set)]) hashes.set(set, await exampleHashesAsync(set));
  return compareHashes(holdout, hashes.get(holdout)!, wanted, (set) => hashes.get(set)!);
}

function compareHashes(
  holdout: EvalSet,
  holdoutHashes: string[],
  others: Array<{ set: EvalSet; role: string }>,
  hashesOf: (set: EvalSet) => string[],
): LeakageReport[] {
  const reports: LeakageReport[] = [];
  for (const { set, role } of others) {
    if (set.file === holdout.file) continue;
    const otherHashes = new Set(hashesOf(set));
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
