import fs from 'node:fs';
import path from 'node:path';
import { looksLikeEvalSet } from './ingredient.js';
import { readSafetensorsHeader } from './safetensors.js';

export interface Discovered {
  /** checkpoint files: .onnx (not graph.onnx), sharded indexes, .safetensors state dicts */
  checkpoints: string[];
  /** PyTorch pickles found (never read) */
  pickles: string[];
  /** safetensors eval sets found (not checkpoints) */
  evalSets: string[];
}

const PICKLES = /\.(pt|pth|ckpt|pkl)$|^pytorch_model.*\.bin$/i;
const SKIPPED_DIRS = new Set(['node_modules', '__pycache__', '.git']);

/** Walk a folder for checkpoints, in code-unit path order; shards listed in an index are not separate checkpoints. */
export function discoverCheckpoints(root: string): Discovered {
  const found: Discovered = { checkpoints: [], pickles: [], evalSets: [] };
  const walk = (dir: string, depth: number) => {
    if (depth > 12) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const hasIndex = entries.some((e) => e.isFile() && e.name.endsWith('.safetensors.index.json'));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full, depth + 1);
      } else if (entry.isFile()) {
        const name = entry.name;
        if (name.endsWith('.safetensors.index.json')) found.checkpoints.push(full);
        else if (name.endsWith('.onnx') && name !== 'graph.onnx') found.checkpoints.push(full);
        else if (name.endsWith('.safetensors') && !hasIndex) {
          let evalSet = false;
          try {
            evalSet = looksLikeEvalSet(readSafetensorsHeader(full));
          } catch {
            // unreadable files are reported by the scan when it opens them
          }
          (evalSet ? found.evalSets : found.checkpoints).push(full);
        } else if (PICKLES.test(name)) found.pickles.push(full);
      }
    }
  };
  walk(path.resolve(root), 0);
  return found;
}
