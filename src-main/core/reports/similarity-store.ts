import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { SimilarityResult } from '../../common/api/checkpoints.js';
import { writeAll, writeFilesAtomically } from '../checkpoints/atomic.js';
import type { TureenPaths } from '../paths.js';

type Similarity = z.output<typeof SimilarityResult>;

/** The checkpoints a similarity was computed for: paths with their content hashes, and the base. */
export interface SimilarityInputs {
  ingredients: Array<{ path: string; sha256: string | null }>;
  base: { path: string; sha256: string | null } | null;
}

/**
 * The similarity of task vectors is a job, not a stored result; the report keeps it in the data folder,
 * keyed by the content hashes, so a changed checkpoint never shows an old matrix.
 */
function fileOf(paths: TureenPaths, inputs: SimilarityInputs): string {
  const key = createHash('sha256')
    .update(
      JSON.stringify({ i: inputs.ingredients.map((i) => [path.resolve(i.path), i.sha256]), b: inputs.base }),
    )
    .digest('hex');
  return path.join(paths.dataDir, 'reports', 'similarity', `${key}.json`);
}

export function loadSimilarity(paths: TureenPaths, inputs: SimilarityInputs): Similarity | null {
  const file = fileOf(paths, inputs);
  if (!fs.existsSync(file)) return null;
  const parsed = SimilarityResult.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : null;
}

export function storeSimilarity(paths: TureenPaths, inputs: SimilarityInputs, result: Similarity): void {
  const bytes = Buffer.from(JSON.stringify(result));
  writeFilesAtomically([{ path: fileOf(paths, inputs), write: (fd) => writeAll(fd, bytes) }]);
}
