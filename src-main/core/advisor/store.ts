import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../common/canonical-json.js';
import { writeFilesAtomically, writeAll } from '../checkpoints/atomic.js';
import type { AdviceDoc } from './advise.js';

/**
 * The latest advice per (ingredients, holdout), as JSON files in Tureen's data folder: the app and the
 * report show it again without recomputing, and a new run over the same sweep replaces it.
 */
function adviceDir(dataDir: string): string {
  return path.join(dataDir, 'advice');
}

export function saveAdvice(dataDir: string, advice: AdviceDoc): string {
  const key = createHash('sha256')
    .update(
      canonicalJson({
        ingredients: advice.ingredients.map((i) => i.path).sort(),
        holdout: advice.holdout.path,
      }),
    )
    .digest('hex')
    .slice(0, 24);
  const dir = adviceDir(dataDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${key}.json`);
  writeFilesAtomically([{ path: file, write: (fd) => writeAll(fd, Buffer.from(JSON.stringify(advice))) }]);
  return file;
}

function inside(folder: string, file: string): boolean {
  const rel = path.relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The newest stored advice with an ingredient inside `folder`, or null. Unreadable files are skipped. */
export function latestAdvice(dataDir: string, folder: string): AdviceDoc | null {
  const dir = adviceDir(dataDir);
  if (!fs.existsSync(dir)) return null;
  const target = path.resolve(folder);
  let newest: AdviceDoc | null = null;
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    let advice: AdviceDoc;
    try {
      advice = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as AdviceDoc;
    } catch {
      continue;
    }
    if (!Array.isArray(advice.ingredients) || !advice.ingredients.some((i) => inside(target, i.path)))
      continue;
    if (!newest || advice.createdAt > newest.createdAt) newest = advice;
  }
  return newest;
}
