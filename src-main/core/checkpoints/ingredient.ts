import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { TureenError } from '../../common/errors.js';
import { looksLikeEvalSet } from '../datasets/evalset.js';
import type { DType } from '../tensors/dtypes.js';
import { dtypeBytes, isFloatDType } from '../tensors/dtypes.js';
import type { FileStamp } from './hashing.js';
import { checkpointSha256, stampOf } from './hashing.js';
import type { GraphSummary, TensorLocation } from './onnx-file.js';
import { readOnnxModel } from './onnx-file.js';
import { readRange } from './read-range.js';
import type { SafetensorsHeader } from './safetensors.js';
import { readSafetensorsHeader, readShardIndex } from './safetensors.js';
import type { TorchCheckpoint, TorchStateDict, TorchStorage, TorchTensor } from './torch/checkpoint.js';
import { readTorchCheckpoint } from './torch/checkpoint.js';
import { EMA_KEYS } from './torch/state-dict.js';
import { gatherStrided, isRowMajor } from './torch/strided.js';

export type IngredientFormat = 'onnx' | 'safetensors' | 'pytorch';

/** What a PyTorch checkpoint's pickle held besides the weights (read, never executed). */
export interface PickleSummary {
  container: 'zip' | 'legacy';
  /** the root key the weights came from (`state_dict`, `state_dict_ema`, ...), null for a plain state dict */
  stateDictKey: string | null;
  /** where EMA weights are, when the checkpoint has them */
  emaKey: string | null;
  /** true when the EMA weights were opened (`ema` option) */
  usedEma: boolean;
  /** globals that would run code, files or network if the pickle were unpickled (`posix.system`, ...) */
  suspiciousGlobals: string[];
  /** names that share one storage view (tied weights), each group listed once */
  tied: string[][];
}

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
  isFloat: boolean;
}

/** Everything known about a checkpoint without its weights; serialisable (stored by scans). */
export interface IngredientSummary {
  path: string;
  format: IngredientFormat;
  /** total bytes of all files holding the weights */
  bytes: number;
  files: FileStamp[];
  tensors: TensorInfo[];
  /** the ONNX graph that defines the computation: the .onnx itself or the bound graph.onnx; null if none */
  graphPath: string | null;
  graph: GraphSummary | null;
  /** safetensors `__metadata__` */
  metadata: Record<string, string>;
  /** wrapper prefix removed from state-dict keys (`module.`), or null */
  strippedPrefix: string | null;
  /** safetensors bound to a graph: names found on one side only */
  unmatched: { notInGraph: string[]; notInCheckpoint: string[] } | null;
  /** lives in a folder named base, pretrained or zeroshot (or was given as the base) */
  isBase: boolean;
  /** PyTorch checkpoints only: what the pickle held */
  pickle?: PickleSummary;
}

export type TensorData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export interface Ingredient extends IngredientSummary {
  tensor(name: string): TensorInfo | undefined;
  /** where a tensor's bytes are (for streaming readers) */
  locate(name: string): TensorLocation;
  /** the tensor's little-endian bytes in its dtype, in a fresh aligned buffer */
  readTensorBytes(name: string): Promise<Uint8Array>;
  /** typed view of readTensorBytes (f16/bf16 as Uint16Array bit patterns) */
  readTensor(name: string): Promise<TensorData>;
  /** content hash of the weight file(s), cached in the database when one is given */
  sha256(signal?: AbortSignal): Promise<string>;
  summary(): IngredientSummary;
}

export interface OpenIngredientOptions {
  /** the ONNX graph for a safetensors state dict (else graph.onnx in its folder or the nearest parent) */
  graph?: string;
  db?: Database | null;
  /** strip this prefix from every state-dict key (user's request); else detected when it makes names match */
  stripPrefix?: string;
  /** treat as the family's base whatever its folder */
  base?: boolean;
  /**
   * PyTorch checkpoints: open the EMA weights (`state_dict_ema`, `model_ema`, `ema`) instead of the raw ones;
   * `true` refuses a checkpoint without them, `'prefer'` (a kitchen's setting) falls back to the raw weights
   */
  ema?: boolean | 'prefer';
}

export const BASE_FOLDER_NAMES = ['base', 'pretrained', 'zeroshot', 'zero-shot', 'zero_shot'];
export const WRAPPER_PREFIXES = ['module.', 'model.', 'state_dict.', '_orig_mod.'];
/** Names `torch.save` checkpoints go by; read by an inert pickle reader, never unpickled. */
export const TORCH_EXTENSIONS = ['.pt', '.pth', '.bin', '.ckpt', '.pth.tar'];

export function isTorchFileName(file: string): boolean {
  const lower = file.toLowerCase();
  return TORCH_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** HF Trainer's training state beside pytorch_model.bin: pickles, but not models. */
const TRAINING_STATE = /^(optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth|training_args\.bin)$/i;

export function isBaseFolder(file: string): boolean {
  return BASE_FOLDER_NAMES.includes(path.basename(path.dirname(file)).toLowerCase());
}

/** graph.onnx in the checkpoint's folder or the nearest parent folder. */
export function findBoundGraph(file: string): string | null {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    const candidate = path.join(dir, 'graph.onnx');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

const graphCache = new Map<string, { stamp: string; info: ReturnType<typeof readOnnxModel> }>();

function readGraphCached(file: string): ReturnType<typeof readOnnxModel> {
  const s = stampOf(file);
  const key = `${s.size}:${s.mtimeMs}`;
  const hit = graphCache.get(s.path);
  if (hit && hit.stamp === key) return hit.info;
  const info = readOnnxModel(s.path);
  graphCache.set(s.path, { stamp: key, info });
  if (graphCache.size > 16) graphCache.delete(graphCache.keys().next().value!);
  return info;
}

/** Pick the wrapper prefix whose removal makes the most keys match the graph (none when nothing improves). */
function choosePrefix(
  keys: readonly string[],
  graphNames: ReadonlySet<string> | null,
  requested?: string,
): string | null {
  if (requested !== undefined) {
    const missing = keys.filter((k) => !k.startsWith(requested));
    if (missing.length) {
      throw new TureenError(
        'bad_request',
        `--strip-prefix "${requested}": ${missing.length} keys do not start with it (e.g. "${missing[0]}")`,
      );
    }
    return requested;
  }
  if (!graphNames) return null;
  const score = (prefix: string) => keys.filter((k) => graphNames.has(k.slice(prefix.length))).length;
  let best: string | null = null;
  let bestScore = score('');
  let prefix = '';
  for (;;) {
    const next = WRAPPER_PREFIXES.find((p) => keys.length > 0 && keys.every((k) => k.startsWith(prefix + p)));
    if (!next) break;
    prefix += next;
    const s = score(prefix);
    if (s > bestScore) {
      best = prefix;
      bestScore = s;
    }
  }
  return best;
}

interface Located {
  info: TensorInfo;
  /** where the bytes are; a function when they must be materialised first (strided or deflated tensors) */
  location: TensorLocation | (() => TensorLocation);
}

function readLocation(location: TensorLocation, owner: string): Promise<Uint8Array> {
  if (location.kind === 'memory') return Promise.resolve(location.bytes.slice());
  return readRange(location.file, location.offset, location.byteLength, owner);
}

function typed(bytes: Uint8Array, dtype: DType): TensorData {
  const b = bytes.buffer;
  const o = bytes.byteOffset;
  switch (dtype) {
    case 'f32':
      return new Float32Array(b, o, bytes.byteLength / 4);
    case 'f64':
      return new Float64Array(b, o, bytes.byteLength / 8);
    case 'f16':
    case 'bf16':
    case 'u16':
      return new Uint16Array(b, o, bytes.byteLength / 2);
    case 'i64':
      return new BigInt64Array(b, o, bytes.byteLength / 8);
    case 'u64':
      return new BigUint64Array(b, o, bytes.byteLength / 8);
    case 'i32':
      return new Int32Array(b, o, bytes.byteLength / 4);
    case 'u32':
      return new Uint32Array(b, o, bytes.byteLength / 4);
    case 'i16':
      return new Int16Array(b, o, bytes.byteLength / 2);
    case 'i8':
      return new Int8Array(b, o, bytes.byteLength);
    default:
      return bytes;
  }
}

function makeIngredient(
  summary: IngredientSummary,
  located: Map<string, Located>,
  db: Database | null,
): Ingredient {
  let hash: Promise<string> | null = null;
  const locate = (name: string): TensorLocation => {
    const hit = located.get(name);
    if (!hit)
      throw new TureenError('not_found', `${summary.path}: no tensor "${name}"`, {
        file: summary.path,
        tensor: name,
      });
    return typeof hit.location === 'function' ? hit.location() : hit.location;
  };
  return {
    ...summary,
    tensor: (name) => located.get(name)?.info,
    locate,
    readTensorBytes: (name) => readLocation(locate(name), summary.path),
    readTensor: async (name) =>
      typed(await readLocation(locate(name), summary.path), located.get(name)!.info.dtype),
    sha256(signal) {
      hash ??= checkpointSha256(
        summary.files.map((f) => f.path),
        db,
        signal,
      ).then((digest) => (summary.pickle?.usedEma ? emaHash(digest, summary.pickle.emaKey!) : digest));
      hash.catch(() => (hash = null));
      return hash;
    },
    summary: () => ({ ...summary }),
  };
}

function tensorInfo(name: string, dtype: DType, shape: number[], byteLength: number): TensorInfo {
  return { name, dtype, shape, byteLength, isFloat: isFloatDType(dtype) };
}

function openOnnx(file: string, options: OpenIngredientOptions): Ingredient {
  const model = readOnnxModel(file);
  const located = new Map<string, Located>();
  for (const t of model.tensors)
    located.set(t.name, { info: tensorInfo(t.name, t.dtype, t.shape, t.byteLength), location: t.location });
  const files = model.files.map(stampOf);
  return makeIngredient(
    {
      path: file,
      format: 'onnx',
      bytes: files.reduce((s, f) => s + f.size, 0),
      files,
      tensors: [...located.values()].map((l) => l.info),
      graphPath: file,
      graph: model.graph,
      metadata: {},
      strippedPrefix: null,
      unmatched: null,
      isBase: options.base ?? isBaseFolder(file),
    },
    located,
    options.db ?? null,
  );
}

function openSafetensors(file: string, options: OpenIngredientOptions): Ingredient {
  const sharded = file.endsWith('.index.json');
  const headers: SafetensorsHeader[] = [];
  let metadata: Record<string, string>;
  if (sharded) {
    const index = readShardIndex(file);
    for (const shard of index.shards) {
      if (!fs.existsSync(shard)) {
        throw new TureenError('bad_checkpoint', `${file}: shard ${path.basename(shard)} is missing`, {
          file,
          shard,
        });
      }
      headers.push(readSafetensorsHeader(shard));
    }
    for (const [name, shard] of index.weightMap) {
      const header = headers.find((h) => h.file === shard)!;
      if (!header.tensors.some((t) => t.name === name)) {
        throw new TureenError(
          'bad_checkpoint',
          `${file}: "${name}" is mapped to ${path.basename(shard)}, which does not hold it`,
          { file, tensor: name },
        );
      }
    }
    metadata = headers[0]?.metadata ?? {};
  } else {
    const header = readSafetensorsHeader(file);
    if (looksLikeEvalSet(header)) {
      throw new TureenError(
        'bad_checkpoint',
        `${file} is an eval set (it has "labels" and inputs with the same first axis), not a checkpoint; pass it with --holdout or --eval`,
        { file, kind: 'evalset' },
      );
    }
    headers.push(header);
    metadata = header.metadata;
  }
  const entries = headers.flatMap((h) => h.tensors.map((t) => ({ ...t, file: h.file })));
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name))
      throw new TureenError('bad_checkpoint', `${file}: tensor "${e.name}" appears in two shards`, {
        file,
        tensor: e.name,
      });
    seen.add(e.name);
  }
  const files = headers.map((h) => stampOf(h.file));
  if (sharded) files.unshift(stampOf(file));
  return bindStateDict(
    file,
    entries.map((e) => ({
      name: e.name,
      info: tensorInfo(e.name, e.dtype, e.shape, e.byteLength),
      location: { kind: 'file', file: e.file, offset: e.offset, byteLength: e.byteLength },
    })),
    { format: 'safetensors', files, metadata },
    options,
  );
}

/**
 * A state dict as an ingredient: bound to its graph (`options.graph`, else graph.onnx in its folder or the
 * nearest parent), a wrapper prefix stripped when that makes names match, names found on one side only
 * listed. Safetensors and PyTorch state dicts go through here alike.
 */
function bindStateDict(
  file: string,
  entries: ReadonlyArray<{ name: string; info: TensorInfo; location: Located['location'] }>,
  source: {
    format: IngredientFormat;
    files: FileStamp[];
    metadata: Record<string, string>;
    pickle?: PickleSummary;
  },
  options: OpenIngredientOptions,
): Ingredient {
  const graphPath = options.graph ? path.resolve(options.graph) : findBoundGraph(file);
  const graphModel = graphPath ? readGraphCached(graphPath) : null;
  const graphNames = graphModel ? new Set(graphModel.tensors.map((t) => t.name)) : null;
  const keys = entries.map((e) => e.name);
  const prefix = choosePrefix(keys, graphNames, options.stripPrefix);
  const located = new Map<string, Located>();
  for (const e of entries) {
    const name = prefix ? e.name.slice(prefix.length) : e.name;
    located.set(name, { info: { ...e.info, name }, location: e.location });
  }
  const unmatched = graphNames
    ? {
        notInGraph: [...located.keys()].filter((n) => !graphNames.has(n)),
        notInCheckpoint: [...graphNames].filter((n) => !located.has(n)),
      }
    : null;
  const strip = (name: string) => (prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const pickle = source.pickle && {
    ...source.pickle,
    tied: source.pickle.tied.map((group) => group.map(strip)),
  };
  return makeIngredient(
    {
      path: file,
      format: source.format,
      bytes: source.files.reduce((s, f) => s + f.size, 0),
      files: source.files,
      tensors: [...located.values()].map((l) => l.info),
      graphPath,
      graph: graphModel?.graph ?? null,
      metadata: source.metadata,
      strippedPrefix: prefix,
      unmatched,
      isBase: options.base ?? isBaseFolder(file),
      ...(pickle ? { pickle } : {}),
    },
    located,
    options.db ?? null,
  );
}

/** The content hash of a checkpoint's EMA weights: the file's hash and where in it they are. */
function emaHash(fileSha256: string, key: string): string {
  return createHash('sha256').update(`tureen/torch-ema@1\n${fileSha256}\n${key}\n`).digest('hex');
}

/** Storages materialised recently, so tied or overlapping views of one storage inflate it once. */
class StorageCache {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;
  constructor(private readonly limit: number) {}

  get(storage: TorchStorage): Uint8Array {
    const hit = this.entries.get(storage.key);
    if (hit) return hit;
    const data = storage.read();
    if (data.byteLength <= this.limit) {
      this.entries.set(storage.key, data);
      this.bytes += data.byteLength;
      for (const [key, value] of this.entries) {
        if (this.bytes <= this.limit) break;
        this.entries.delete(key);
        this.bytes -= value.byteLength;
      }
    }
    return data;
  }
}

const STORAGE_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Where a pickled tensor's bytes are: a file range when its storage is stored uncompressed and the view
 * is row-major (torch.save's usual case, no copy); otherwise the view is gathered from its storage into
 * memory when asked for.
 */
function torchLocation(file: string, t: TorchTensor, cache: StorageCache): Located['location'] {
  const itemSize = dtypeBytes(t.dtype);
  if (t.storage.fileOffset !== null && isRowMajor(t.shape, t.view.stride)) {
    return {
      kind: 'file',
      file,
      offset: t.storage.fileOffset + t.view.storageOffset * itemSize,
      byteLength: t.byteLength,
    };
  }
  return () => ({
    kind: 'memory',
    bytes: gatherStrided(cache.get(t.storage), itemSize, t.view.storageOffset, t.shape, t.view.stride),
  });
}

/** Groups of names that are the same view of the same storage (tied weights). */
function tiedGroups(tensors: readonly TorchTensor[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const t of tensors) {
    const key = `${t.storage.key}|${t.view.storageOffset}|${t.shape.join(',')}|${t.view.stride.join(',')}`;
    groups.set(key, [...(groups.get(key) ?? []), t.name]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

function chooseWeights(checkpoint: TorchCheckpoint, file: string, ema: boolean | 'prefer'): TorchStateDict {
  if (ema === 'prefer' && checkpoint.ema) return checkpoint.ema;
  if (ema === true) {
    if (!checkpoint.ema)
      throw new TureenError(
        'not_found',
        `${file}: no EMA weights (looked for ${EMA_KEYS.join(', ')}); open it without --ema`,
        { file },
      );
    return checkpoint.ema;
  }
  if (checkpoint.weights) return checkpoint.weights;
  if (checkpoint.ema)
    throw new TureenError(
      'not_found',
      `${file}: holds only EMA weights (under "${checkpoint.ema.key}"); open it with --ema`,
      { file },
    );
  throw new TureenError(
    'not_a_model',
    `${file}: holds no model weights (${checkpoint.rootDescription}); optimizer, scheduler, RNG and training-argument files are training state, not checkpoints`,
    { file },
  );
}

function openTorch(file: string, options: OpenIngredientOptions): Ingredient {
  const checkpoint = readTorchCheckpoint(file);
  const chosen = chooseWeights(checkpoint, file, options.ema ?? false);
  const cache = new StorageCache(STORAGE_CACHE_BYTES);
  return bindStateDict(
    file,
    chosen.tensors.map((t) => ({
      name: t.name,
      info: tensorInfo(t.name, t.dtype, t.shape, t.byteLength),
      location: torchLocation(file, t, cache),
    })),
    {
      format: 'pytorch',
      files: [stampOf(file)],
      metadata: checkpoint.metadata,
      pickle: {
        container: checkpoint.format,
        stateDictKey: chosen.key,
        emaKey: checkpoint.ema?.key ?? null,
        usedEma: chosen === checkpoint.ema,
        suspiciousGlobals: checkpoint.suspicious,
        tied: tiedGroups(chosen.tensors),
      },
    },
    options,
  );
}

/**
 * Hugging Face's sharded PyTorch checkpoint: `pytorch_model.bin.index.json` maps every tensor to one of the
 * `pytorch_model-0000i-of-0000n.bin` shards beside it; each shard is a plain state dict.
 */
function openTorchSharded(file: string, options: OpenIngredientOptions): Ingredient {
  const index = readShardIndex(file);
  const cache = new StorageCache(STORAGE_CACHE_BYTES);
  const entries: Array<{ name: string; info: TensorInfo; location: Located['location'] }> = [];
  const suspicious = new Set<string>();
  const tied: string[][] = [];
  let first: { checkpoint: TorchCheckpoint; chosen: TorchStateDict } | null = null;
  const found = new Set<string>();
  for (const shard of index.shards) {
    if (!fs.existsSync(shard))
      throw new TureenError('bad_checkpoint', `${file}: shard ${path.basename(shard)} is missing`, {
        file,
        shard,
      });
    const checkpoint = readTorchCheckpoint(shard);
    const chosen = chooseWeights(checkpoint, shard, options.ema ?? false);
    first ??= { checkpoint, chosen };
    for (const g of checkpoint.suspicious) suspicious.add(g);
    tied.push(...tiedGroups(chosen.tensors));
    for (const t of chosen.tensors) {
      if (index.weightMap.get(t.name) !== shard) continue; // HF writes each tensor to its mapped shard only
      if (found.has(t.name))
        throw new TureenError('bad_checkpoint', `${file}: tensor "${t.name}" appears in two shards`, {
          file,
          tensor: t.name,
        });
      found.add(t.name);
      entries.push({
        name: t.name,
        info: tensorInfo(t.name, t.dtype, t.shape, t.byteLength),
        location: torchLocation(shard, t, cache),
      });
    }
  }
  for (const [name, shard] of index.weightMap) {
    if (!found.has(name))
      throw new TureenError(
        'bad_checkpoint',
        `${file}: "${name}" is mapped to ${path.basename(shard)}, which does not hold it`,
        { file, tensor: name },
      );
  }
  const { checkpoint, chosen } = first!;
  return bindStateDict(
    file,
    entries,
    {
      format: 'pytorch',
      files: [stampOf(file), ...index.shards.map(stampOf)],
      metadata: checkpoint.metadata,
      pickle: {
        container: checkpoint.format,
        stateDictKey: chosen.key,
        emaKey: checkpoint.ema?.key ?? null,
        usedEma: chosen === checkpoint.ema,
        suspiciousGlobals: [...suspicious],
        tied,
      },
    },
    options,
  );
}

/** The checkpoint file inside a folder: one .onnx, a sharded index, one .safetensors, or one PyTorch file. */
export function checkpointFileIn(dir: string): string {
  const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
  const onnx = names.filter((n) => n.endsWith('.onnx') && n !== 'graph.onnx');
  const index = names.filter((n) => n.endsWith('.safetensors.index.json') || n.endsWith('.bin.index.json'));
  const st = names.filter((n) => n.endsWith('.safetensors'));
  const torch = names.filter(
    (n) => isTorchFileName(n) && !TRAINING_STATE.test(n) && !/-\d+-of-\d+\.bin$/.test(n),
  );
  const pick =
    onnx.length === 1
      ? onnx
      : index.length === 1
        ? index
        : st.length === 1
          ? st
          : onnx.length + index.length + st.length === 0 && torch.length <= 1
            ? torch
            : null;
  if (pick === null) {
    throw new TureenError(
      'bad_request',
      `${dir} holds several checkpoints; name the file, or give the folder to scan/cook as a kitchen`,
      { file: dir },
    );
  }
  if (pick.length === 0)
    throw new TureenError(
      'not_found',
      `${dir}: no .onnx, .safetensors or PyTorch checkpoint in this folder`,
      {
        file: dir,
      },
    );
  return path.join(dir, pick[0]!);
}

/** Open one checkpoint: parse its header/graph and locate every tensor; no weights are read. */
export function openIngredient(input: string, options: OpenIngredientOptions = {}): Ingredient {
  let file = path.resolve(input);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new TureenError('not_found', `${file} does not exist; check the path`, { file });
  }
  if (stat.isDirectory()) file = checkpointFileIn(file);
  const lower = file.toLowerCase();
  if (lower.endsWith('.onnx')) return openOnnx(file, options);
  if (lower.endsWith('.safetensors') || lower.endsWith('.safetensors.index.json'))
    return openSafetensors(file, options);
  if (lower.endsWith('.bin.index.json')) return openTorchSharded(file, options);
  if (isTorchFileName(file)) return openTorch(file, options);
  throw new TureenError(
    'not_supported',
    `${file}: not a checkpoint Tureen reads (.onnx, .safetensors, .safetensors.index.json, PyTorch ${TORCH_EXTENSIONS.join(' ')})`,
    { file },
  );
}
