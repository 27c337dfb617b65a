import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export type HyperparameterValue = number | string | boolean;
export type Hyperparameters = Record<string, HyperparameterValue>;

/** Sidecar files researchers' training scripts leave beside checkpoints, in increasing precedence. */
export const SIDECAR_FILES = [
  'config.json',
  'config.yaml',
  'config.yml',
  'args.json',
  'args.yaml',
  'training_args.json',
  'trainer_state.json',
  'hparams.yaml',
  'hparams.yml',
  'hparams.json',
];
const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;
const MAX_KEYS = 200;
/** trainer_state.json keeps per-step logs; only its scalars are hyperparameter-like. */
const SKIPPED_KEYS = new Set(['log_history', 'stateful_callbacks', 'architectures', 'id2label', 'label2id']);

export function parseValue(text: string): HyperparameterValue {
  const t = text.trim();
  if (t === 'true' || t === 'True') return true;
  if (t === 'false' || t === 'False') return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  return t;
}

/** `lr=3e-5_wd=0.1` style folder and file names; keys may contain underscores (`weight_decay=0.1`). */
export function hyperparametersFromName(name: string): Hyperparameters {
  const out: Hyperparameters = {};
  for (const token of name.split(/[_,](?=[A-Za-z][\w.-]*=)/)) {
    const eq = token.indexOf('=');
    if (eq <= 0) continue;
    const key = token.slice(0, eq);
    if (!/^[A-Za-z][\w.-]*$/.test(key)) continue;
    out[key] = parseValue(token.slice(eq + 1));
  }
  return out;
}

function flatten(value: unknown, prefix: string, out: Hyperparameters): void {
  if (Object.keys(out).length >= MAX_KEYS) return;
  if (typeof value === 'number' && Number.isFinite(value)) out[prefix] = value;
  else if (typeof value === 'boolean') out[prefix] = value;
  else if (typeof value === 'string' && value.length <= 200) out[prefix] = value;
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (SKIPPED_KEYS.has(k)) continue;
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  }
}

/** A sidecar's scalar settings (nested keys joined with dots); unreadable sidecars are skipped, not fatal. */
export function readSidecar(file: string): Hyperparameters | null {
  try {
    if (fs.statSync(file).size > MAX_SIDECAR_BYTES) return null;
    const text = fs.readFileSync(file, 'utf8');
    const data: unknown = file.endsWith('.json')
      ? JSON.parse(text)
      : YAML.parse(text, { maxAliasCount: 100 });
    const out: Hyperparameters = {};
    flatten(data, '', out);
    return out;
  } catch {
    return null;
  }
}

/**
 * Hyperparameters of a checkpoint: from `key=value` folder/file names between the kitchen root and the
 * file, then the sidecars in its folder (later sources win). `sources` says where each came from.
 */
export function hyperparametersOf(
  file: string,
  root: string,
): { values: Hyperparameters; sources: string[] } {
  const values: Hyperparameters = {};
  const sources: string[] = [];
  const rel = path.relative(root, file);
  const parts = rel.startsWith('..') ? [path.basename(file)] : rel.split(path.sep);
  parts[parts.length - 1] = parts[parts.length - 1]!.replace(
    /\.(onnx|safetensors|safetensors\.index\.json)$/i,
    '',
  );
  for (const part of parts) {
    const found = hyperparametersFromName(part);
    if (Object.keys(found).length) {
      Object.assign(values, found);
      sources.push(part);
    }
  }
  const dir = path.dirname(file);
  for (const name of SIDECAR_FILES) {
    const sidecar = path.join(dir, name);
    if (!fs.existsSync(sidecar)) continue;
    const found = readSidecar(sidecar);
    if (found && Object.keys(found).length) {
      Object.assign(values, found);
      sources.push(name);
    }
  }
  return { values, sources };
}
