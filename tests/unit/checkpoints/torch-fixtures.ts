import fs from 'node:fs';
import path from 'node:path';

/** Checkpoints written by torch.save (scripts/fixtures/make_torch_checkpoints.py) and NumPy's dump of them. */
export const torchFixtures = path.join(import.meta.dirname, '..', '..', 'fixtures', 'torch-checkpoints');

export interface TorchExpected {
  tensors: Record<string, Record<string, { dtype: string; shape: number[]; values: Array<number | string> }>>;
  eval: { set: string; n: number; correct: Record<string, number> };
  soup: { files: string[]; tensors: Record<string, number[]>; correct: number };
  hostile: Record<string, { marker: string; globals: string[] }>;
  hostile_trees: string[];
  state_dict_keys: string[];
  graph_initializers: string[];
  hyperparameters: Record<string, Record<string, number | string>>;
}

export function torchExpected(): TorchExpected {
  return JSON.parse(fs.readFileSync(path.join(torchFixtures, 'expected.json'), 'utf8')) as TorchExpected;
}
