import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { isWithin } from '../within.js';
import { readRegularFile } from './read-range.js';
import { readPickledSettings } from './torch/checkpoint.js';

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

/**
 * `lr=3e-5_wd=0.1` style folder and file names; keys may contain underscores (`weight_decay=0.1`): between
 * two `=`, the first `_`/`,` (or a `-`, Lightning's `epoch=2-step=30`) followed by nothing but a key
 * starts the next key, so `lr=1e-5_weight_decay=0.1` is lr and weight_decay.
 */
export function hyperparametersFromName(name: string): Hyperparameters {
  const out: Hyperparameters = {};
  const parts = name.split('=');
  if (parts.length < 2) return out;
  let key: string | null = parts[0]!.split(/[_,]/).at(-1)!;
  for (let i = 1; i < parts.length; i++) {
    const text = parts[i]!;
    let value = text;
    let next: string | null = null;
    if (i < parts.length - 1) {
      const split = /[_,-](?=[A-Za-z][\w.]*$)|[_,](?=[A-Za-z][\w.-]*$)/.exec(text);
      if (split) {
        value = text.slice(0, split.index);
        next = text.slice(split.index + 1);
      }
    }
    if (key !== null && /^[A-Za-z][\w.-]*$/.test(key) && value !== '') out[key] = parseValue(value);
    key = next;
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

/**
 * A side file's text, or null when it is missing, too large or not a regular file: a FIFO named
 * hparams.json would block a plain read forever (the scan lists such files as ignored, with the reason).
 */
function readSideText(file: string): string | null {
  try {
    return readRegularFile(file, 'bad_checkpoint', {
      bytes: MAX_SIDECAR_BYTES,
      what: 'a hyperparameter file',
    }).toString('utf8');
  } catch {
    return null;
  }
}

/** A sidecar's scalar settings (nested keys joined with dots); unreadable sidecars are skipped, not fatal. */
export function readSidecar(file: string): Hyperparameters | null {
  const text = readSideText(file);
  if (text === null) return null;
  try {
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
  const parts = isWithin(root, file) ? path.relative(root, file).split(path.sep) : [path.basename(file)];
  parts[parts.length - 1] = parts[parts.length - 1]!.replace(
    /\.(onnx|safetensors|safetensors\.index\.json|pt|pth|bin|ckpt|pth\.tar)$/i,
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
  const add = (found: Hyperparameters | null, source: string) => {
    if (found && Object.keys(found).length) {
      Object.assign(values, found);
      sources.push(source);
    }
  };
  add(lightningHparams(file), `../hparams.yaml`);
  for (const name of SIDECAR_FILES) {
    const sidecar = path.join(dir, name);
    if (fs.existsSync(sidecar)) add(readSidecar(sidecar), name);
  }
  add(hfTrainerState(dir), 'checkpoint-N');
  add(hfTrainingArguments(dir), 'training_args.bin');
  add(timmSummary(file), 'summary.csv');
  add(modelSoupsHparams(file), 'hparam_info.json');
  return { values, sources };
}

/**
 * HF Trainer's `checkpoint-N/`: the step from the folder name, and from trainer_state.json (already read
 * as a sidecar) its `global_step` under the common name `step`.
 */
function hfTrainerState(dir: string): Hyperparameters | null {
  const match = /^checkpoint-(\d+)$/.exec(path.basename(dir));
  const state = path.join(dir, 'trainer_state.json');
  const fromState = fs.existsSync(state) ? readSidecar(state) : null;
  const step = fromState?.global_step ?? (match ? Number(match[1]) : undefined);
  return step === undefined ? null : { step };
}

/** HF Trainer's training_args.bin: a pickled TrainingArguments, read inertly for its scalar settings. */
function hfTrainingArguments(dir: string): Hyperparameters | null {
  const file = path.join(dir, 'training_args.bin');
  if (!fs.existsSync(file)) return null;
  try {
    const out: Hyperparameters = {};
    for (const [key, text] of Object.entries(readPickledSettings(file)).slice(0, MAX_KEYS))
      if (!/dir$|_dir$|path$|token|hub_/i.test(key)) out[key] = parseValue(text);
    return out;
  } catch {
    return null; // an unreadable side file is skipped, never fatal
  }
}

/** Lightning's `version_N/checkpoints/*.ckpt`: hparams.yaml two levels up, in `version_N/`. */
function lightningHparams(file: string): Hyperparameters | null {
  const dir = path.dirname(file);
  if (path.basename(dir) !== 'checkpoints') return null;
  const hparams = path.join(path.dirname(dir), 'hparams.yaml');
  return fs.existsSync(hparams) ? readSidecar(hparams) : null;
}

/**
 * timm's output folder: summary.csv has one row per epoch (eval_top1, eval_loss, ...). `checkpoint-E.pth.tar`
 * gets epoch E's row; `model_best.pth.tar` the row with the best eval_top1 (timm's default metric).
 */
function timmSummary(file: string): Hyperparameters | null {
  const summary = path.join(path.dirname(file), 'summary.csv');
  if (!fs.existsSync(summary)) return null;
  let rows: Array<Record<string, HyperparameterValue>>;
  const text = readSideText(summary);
  if (text === null) return null;
  try {
    const lines = text.split(/\r?\n/).filter(Boolean);
    const header = lines[0]!.split(',').map((h) => h.trim());
    rows = lines.slice(1).map((line) => {
      const cells = line.split(',');
      return Object.fromEntries(header.map((h, i) => [h, parseValue(cells[i] ?? '')]));
    });
  } catch {
    return null;
  }
  const name = path.basename(file);
  const epoch = /^checkpoint-(\d+)\.pth\.tar$/.exec(name);
  let row: Record<string, HyperparameterValue> | undefined;
  if (epoch) row = rows.find((r) => r.epoch === Number(epoch[1]));
  else if (name === 'model_best.pth.tar') {
    const scored = rows.filter((r) => typeof r.eval_top1 === 'number');
    row = scored.sort((a, b) => (b.eval_top1 as number) - (a.eval_top1 as number))[0];
  }
  return row ? { ...row } : null;
}

/** model-soups: hparam_info.json beside the `model_i.pt` files, keyed by file name. */
function modelSoupsHparams(file: string): Hyperparameters | null {
  const info = path.join(path.dirname(file), 'hparam_info.json');
  if (!fs.existsSync(info)) return null;
  const text = readSideText(info);
  if (text === null) return null;
  try {
    const all = JSON.parse(text) as Record<string, unknown>;
    const mine = all[path.basename(file)];
    if (!mine || typeof mine !== 'object') return null;
    const out: Hyperparameters = {};
    flatten(mine, '', out);
    return out;
  } catch {
    return null;
  }
}
