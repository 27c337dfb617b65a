import path from 'node:path';
import type { Hyperparameters, HyperparameterValue } from '../checkpoints/hyperparameters.js';

/** File stems that say nothing about the run: the folder names it instead. */
const GENERIC_STEMS = new Set(['model', 'pytorch_model', 'checkpoint', 'weights', 'final', 'last', 'best']);

function stem(file: string): string {
  return path.basename(file).replace(/\.(onnx|safetensors|safetensors\.index\.json)$/i, '');
}

/** A run's folder (or file) name without its `_key=value` settings: `run-11_lr=2e-2_wd=0.05` → `run-11`. */
function bare(name: string): string {
  const cut = name.search(/[_,][A-Za-z][\w.-]*=/);
  return cut > 0 ? name.slice(0, cut) : name;
}

/**
 * Short names for sentences: the file stem, or its folder when the stem is generic, without key=value
 * settings; the relative path whenever that would not tell two ingredients apart.
 */
export function shortNames(relativePaths: readonly string[]): string[] {
  const names = relativePaths.map((rel) => {
    const parts = rel.split('/');
    const own = stem(rel);
    const pick = GENERIC_STEMS.has(own.toLowerCase()) && parts.length > 1 ? parts[parts.length - 2]! : own;
    return bare(pick) || pick;
  });
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return names.map((n, i) => (counts.get(n)! > 1 ? relativePaths[i]! : n));
}

/** `2e-2`, `1.5e-3`, `0.5`, `4`: how people write learning rates (small values in exponent notation). */
export function formatSetting(value: HyperparameterValue): string {
  if (typeof value !== 'number') return String(value);
  if (value !== 0 && Math.abs(value) < 0.1) return value.toExponential().replace('e+', 'e');
  return String(value);
}

const LEARNING_RATE = /(^|[._-])(lr|learning[_-]?rate)$/i;

/** The learning rate among a run's hyperparameters (folder names and sidecars), if it has one. */
export function learningRate(values: Hyperparameters): { key: string; value: HyperparameterValue } | null {
  const key = Object.keys(values).find((k) => LEARNING_RATE.test(k));
  return key === undefined ? null : { key, value: values[key]! };
}

/** `run-11 (lr = 2e-2)`: the run's name with its learning rate when known. */
export function describeRun(label: string, values: Hyperparameters): string {
  const lr = learningRate(values);
  if (!lr) return label;
  const key = lr.key.split('.').pop()!;
  return `${label} (${key} = ${formatSetting(lr.value)})`;
}
