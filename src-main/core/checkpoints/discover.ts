import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import { looksLikeEvalSet } from '../datasets/evalset.js';
import { SIDECAR_FILES } from './hyperparameters.js';
import { readSafetensorsHeader } from './safetensors.js';

/** How a checkpoint file is stored, by its name (and, for safetensors, its header). */
export type CheckpointKind = 'onnx' | 'safetensors' | 'sharded' | 'torch';

export interface DiscoveredCheckpoint {
  path: string;
  kind: CheckpointKind;
}

/** A file (or folder) the walk saw and does not use, and why. */
export interface IgnoredFile {
  path: string;
  reason: string;
}

/** Every file under a folder, classified once; every list is in code-unit order of the relative path. */
export interface Discovery {
  root: string;
  /** models: .onnx (not graph.onnx), safetensors state dicts, sharded indexes, PyTorch checkpoints (and their `.bin.index.json`) */
  checkpoints: DiscoveredCheckpoint[];
  /** safetensors files holding `labels` and inputs of the same first axis */
  evalSets: string[];
  /** `graph.onnx` files that safetensors and PyTorch state dicts in their folder or below are bound to */
  graphs: string[];
  /** files read alongside a checkpoint: hyperparameter files, recipes, shards, ONNX external data */
  sidecars: string[];
  /** files that look like training output but are not used, with the reason */
  ignored: IgnoredFile[];
  /** other files (documents, code, images): not listed one by one */
  otherFiles: number;
}

/** Folders never walked: tool caches, not training output. Hidden files and folders are skipped too. */
const SKIPPED_DIRS = new Set(['node_modules', '__pycache__']);
const MAX_DEPTH = 12;
const TORCH = /\.(pt|pth|bin|ckpt|pth\.tar)$/i;
/** What trainers save beside the weights: pickles, but not models (Hugging Face Trainer, Lightning, accelerate). */
const TRAINING_STATE =
  /^(optimizer.*\.(pt|bin)|scheduler.*\.(pt|bin)|scaler\.pt|rng_state.*\.pth|random_states.*\.pkl|training_args\.bin)$/i;
const SIDECARS = new Set([
  ...SIDECAR_FILES,
  'trainer_state.json',
  'hparams.yaml',
  'args.yaml',
  'summary.csv',
  'hparam_info.json',
]);
/** Names ONNX exporters give external data (`save_as_external_data`); `.bin` too when beside an .onnx. */
const ONNX_EXTERNAL_DATA = /\.(data|onnx_data|onnx\.data|weights)$/i;
/** Files with these endings are worth a reason when ignored; anything else only counts as "other". */
const MODEL_LIKE = /\.(pkl|pickle|npz|npy|h5|keras|pb|tflite|gguf|ggml|msgpack|joblib|mlmodel)$/i;

function byName(a: fs.Dirent, b: fs.Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function describeSpecial(stat: fs.Stats): string {
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Safetensors files are state dicts unless their header says eval set; unreadable ones stay checkpoints (the scan reports why). */
function isEvalSetFile(file: string): boolean {
  try {
    return looksLikeEvalSet(readSafetensorsHeader(file));
  } catch {
    return false;
  }
}

/**
 * Walk a folder once and classify every file: checkpoint, eval set, graph, sidecar, ignored (with the reason)
 * or other. Only regular files are classified as something to read; FIFOs, sockets, devices and links to them
 * are ignored with their kind, so no later read can block or run forever. Links to files are followed, links
 * to folders are not (a link cycle or a link to `/` must not make the walk endless).
 */
export function discover(folder: string): Discovery {
  const root = path.resolve(folder);
  let rootStat: fs.Stats;
  try {
    rootStat = fs.statSync(root);
  } catch {
    throw new TureenError('not_found', `${root} does not exist; check the path`, { file: root });
  }
  if (!rootStat.isDirectory())
    throw new TureenError('bad_request', `${root} is not a folder`, { file: root });
  const found: Discovery = {
    root,
    checkpoints: [],
    evalSets: [],
    graphs: [],
    sidecars: [],
    ignored: [],
    otherFiles: 0,
  };
  const ignore = (file: string, reason: string) => found.ignored.push({ path: file, reason });

  const classify = (
    dir: string,
    name: string,
    context: { hasIndex: boolean; hasTorchIndex: boolean; hasOnnx: boolean },
  ) => {
    const full = path.join(dir, name);
    const lower = name.toLowerCase();
    if (lower.endsWith('.safetensors.index.json')) found.checkpoints.push({ path: full, kind: 'sharded' });
    else if (lower.endsWith('.bin.index.json')) found.checkpoints.push({ path: full, kind: 'torch' });
    else if (lower === 'graph.onnx') found.graphs.push(full);
    else if (lower.endsWith('.onnx')) found.checkpoints.push({ path: full, kind: 'onnx' });
    else if (lower.endsWith('.safetensors')) {
      if (context.hasIndex) found.sidecars.push(full);
      else if (isEvalSetFile(full)) found.evalSets.push(full);
      else found.checkpoints.push({ path: full, kind: 'safetensors' });
    } else if (TRAINING_STATE.test(name)) ignore(full, 'training state, not a model');
    else if (SIDECARS.has(lower) || lower.endsWith('.recipe.json')) found.sidecars.push(full);
    else if (context.hasOnnx && (ONNX_EXTERNAL_DATA.test(name) || lower.endsWith('.bin')))
      found.sidecars.push(full);
    else if (TORCH.test(name)) {
      // the shards of a sharded PyTorch checkpoint belong to its index, like safetensors shards
      if (context.hasTorchIndex && lower.endsWith('.bin')) found.sidecars.push(full);
      else found.checkpoints.push({ path: full, kind: 'torch' });
    } else if (MODEL_LIKE.test(name)) ignore(full, 'not a format Tureen reads (ONNX, safetensors, PyTorch)');
    else found.otherFiles++;
  };

  const walk = (dir: string, depth: number) => {
    if (depth > MAX_DEPTH) {
      ignore(dir, `more than ${MAX_DEPTH} folders deep; not searched`);
      return;
    }
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      ignore(dir, `the folder cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return;
    }
    entries.sort(byName);
    const files: string[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full, depth + 1);
        continue;
      }
      // a plain file needs no stat; anything else (a link, a FIFO, a socket, a device) is looked at
      let stat: fs.Stats | null;
      try {
        stat = entry.isFile() ? null : fs.statSync(full);
      } catch {
        ignore(full, 'a link to something that does not exist');
        continue;
      }
      if (stat?.isDirectory()) {
        if (entry.isSymbolicLink()) ignore(full, 'a link to a folder; links to folders are not followed');
        else if (!SKIPPED_DIRS.has(entry.name)) walk(full, depth + 1);
      } else if (stat && !stat.isFile())
        ignore(full, `${describeSpecial(stat)}; Tureen reads only regular files`);
      else files.push(entry.name);
    }
    const context = {
      hasIndex: files.some((n) => n.toLowerCase().endsWith('.safetensors.index.json')),
      hasTorchIndex: files.some((n) => n.toLowerCase().endsWith('.bin.index.json')),
      hasOnnx: files.some((n) => n.toLowerCase().endsWith('.onnx')),
    };
    for (const name of files) classify(dir, name, context);
  };
  walk(root, 0);

  const relative = (file: string) => path.relative(root, file).split(path.sep).join('/');
  const order = (a: string, b: string) => {
    const [x, y] = [relative(a), relative(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  found.checkpoints.sort((a, b) => order(a.path, b.path));
  for (const list of [found.evalSets, found.graphs, found.sidecars]) list.sort(order);
  found.ignored.sort((a, b) => order(a.path, b.path));
  return found;
}
