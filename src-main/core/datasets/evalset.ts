import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import type { StoredDtype, StoredTensor } from './safetensors-header.js';
import { DTYPE_BYTES, parseSafetensorsHeader } from './safetensors-header.js';
import type { InputTransform } from './transform.js';
import { parseTransforms } from './transform.js';
import { metadataJson } from './metadata-json.js';
import { canonicalJson } from '../../common/canonical-json.js';

export const EVAL_ROLES = ['holdout', 'id', 'shift'] as const;
export type EvalRole = (typeof EVAL_ROLES)[number];

export interface EvalInput {
  name: string;
  dtype: StoredDtype;
  /** full shape, first axis N */
  shape: number[];
  /** the stored bytes (a view into the file's buffer) */
  bytes: Uint8Array;
}

/** An eval set read from disk: inputs named like the model's, labels, and how to prepare them. */
export interface EvalSet {
  file: string;
  name: string;
  /** role written in the file; a role set in the app (SQLite) wins, see the evalsets service */
  fileRole: EvalRole | null;
  n: number;
  inputs: EvalInput[];
  labels: Int32Array;
  transforms: Record<string, InputTransform>;
  classSubset: number[] | null;
  /** sha256 over tensors, transform and class subset (not name or role) */
  hash: string;
  bytes: number;
}

const LABEL_DTYPES = new Set<StoredDtype>(['U8', 'I8', 'I16', 'I32', 'I64', 'U16', 'U32', 'U64']);

function readLabels(file: string, tensor: StoredTensor, data: Uint8Array): Int32Array {
  if (!LABEL_DTYPES.has(tensor.dtype) || tensor.shape.length !== 1) {
    throw new TureenError(
      'bad_evalset',
      `${file}: "labels" must be a 1-D integer tensor, found ${tensor.dtype} ${JSON.stringify(tensor.shape)}`,
      { file, tensor: 'labels' },
    );
  }
  const n = tensor.shape[0]!;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Int32Array(n);
  const size = DTYPE_BYTES[tensor.dtype];
  for (let i = 0; i < n; i++) {
    const o = i * size;
    let v: number;
    switch (tensor.dtype) {
      case 'U8':
        v = view.getUint8(o);
        break;
      case 'I8':
        v = view.getInt8(o);
        break;
      case 'I16':
        v = view.getInt16(o, true);
        break;
      case 'U16':
        v = view.getUint16(o, true);
        break;
      case 'I32':
        v = view.getInt32(o, true);
        break;
      case 'U32':
        v = view.getUint32(o, true);
        break;
      default:
        v = Number(tensor.dtype === 'I64' ? view.getBigInt64(o, true) : view.getBigUint64(o, true));
    }
    if (v < 0 || !Number.isSafeInteger(v) || v > 0x7fffffff) {
      throw new TureenError('bad_evalset', `${file}: label ${v} at index ${i} is negative or too large`, {
        file,
        tensor: 'labels',
        index: i,
      });
    }
    out[i] = v;
  }
  return out;
}

function parseRole(file: string, raw: string | undefined): EvalRole | null {
  if (raw === undefined || raw === '') return null;
  if (!(EVAL_ROLES as readonly string[]).includes(raw)) {
    throw new TureenError(
      'bad_evalset',
      `${file}: tureen.role is "${raw}"; use one of ${EVAL_ROLES.join(', ')}`,
      { file },
    );
  }
  return raw as EvalRole;
}

function parseClassSubset(file: string, raw: string | undefined): number[] | null {
  const value = metadataJson(file, 'tureen.class_subset', raw, 'write a list of logit indices');
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new TureenError(
      'bad_evalset',
      `${file}: tureen.class_subset must be a non-empty list of logit indices`,
      { file },
    );
  }
  if (new Set(value).size !== value.length) {
    throw new TureenError('bad_evalset', `${file}: tureen.class_subset lists an index twice`, { file });
  }
  return value as number[];
}

/**
 * True when a safetensors header looks like an eval set (a 1-D integer `labels` plus inputs whose first axis
 * matches it) rather than a state dict. Used when scanning folders.
 */
export function looksLikeEvalSet(tensors: readonly StoredTensor[]): boolean {
  const labels = tensors.find((t) => t.name === 'labels');
  if (!labels || labels.shape.length !== 1 || !LABEL_DTYPES.has(labels.dtype)) return false;
  const others = tensors.filter((t) => t.name !== 'labels');
  return others.length > 0 && others.every((t) => t.shape[0] === labels.shape[0]);
}

export function readEvalSet(file: string): EvalSet {
  const absolute = path.resolve(file);
  let buffer: Buffer;
  try {
    buffer = fs.readFileSync(absolute);
  } catch (error) {
    throw new TureenError('not_found', `cannot read eval set ${absolute}: ${(error as Error).message}`, {
      file: absolute,
    });
  }
  const layout = parseSafetensorsHeader(absolute, buffer);
  const data = buffer.subarray(layout.headerBytes);
  const labelTensor = layout.tensors.find((t) => t.name === 'labels');
  if (!labelTensor) {
    throw new TureenError(
      'bad_evalset',
      `${absolute} has no "labels" tensor: an eval set holds one tensor per model input plus labels (see docs/cli.md)`,
      { file: absolute },
    );
  }
  const labels = readLabels(absolute, labelTensor, data.subarray(labelTensor.begin, labelTensor.end));
  const n = labels.length;
  const inputs: EvalInput[] = layout.tensors
    .filter((t) => t.name !== 'labels')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: data.subarray(t.begin, t.end) }));
  if (inputs.length === 0) {
    throw new TureenError('bad_evalset', `${absolute} holds only labels; add one tensor per model input`, {
      file: absolute,
    });
  }
  for (const input of inputs) {
    if (input.shape[0] !== n) {
      throw new TureenError(
        'bad_evalset',
        `${absolute}: input "${input.name}" has ${input.shape[0] ?? 0} rows but labels has ${n}; the first axis must be N for every tensor`,
        { file: absolute, tensor: input.name },
      );
    }
  }
  const meta = layout.metadata;
  const transforms = parseTransforms(
    absolute,
    meta['tureen.transform'],
    inputs.map((i) => i.name),
  );
  const classSubset = parseClassSubset(absolute, meta['tureen.class_subset']);
  if (classSubset) {
    const bad = labels.findIndex((l) => l >= classSubset.length);
    if (bad >= 0) {
      throw new TureenError(
        'bad_evalset',
        `${absolute}: label ${labels[bad]} at index ${bad} is outside tureen.class_subset (${classSubset.length} classes); labels index into the subset`,
        { file: absolute, tensor: 'labels', index: bad },
      );
    }
  }
  const hash = evalSetHash(
    inputs,
    {
      dtype: labelTensor.dtype,
      shape: labelTensor.shape,
      bytes: data.subarray(labelTensor.begin, labelTensor.end),
    },
    transforms,
    classSubset,
  );
  return {
    file: absolute,
    name: meta['tureen.name'] || path.basename(absolute).replace(/\.safetensors$/i, ''),
    fileRole: parseRole(absolute, meta['tureen.role']),
    n,
    inputs,
    labels,
    transforms,
    classSubset,
    hash,
    bytes: buffer.byteLength,
  };
}

/** Bump when anything that changes a model's input joins the hash: old cached logits then never match. */
export const EVALSET_HASH_SCHEME = 'tureen/evalset-hash@2';

/**
 * sha256 over everything that changes what the model sees or how it is scored: every input's name, dtype,
 * shape and bytes, the labels, the normalised transform per input, and the class subset. Name and role are
 * left out (renaming a file keeps its cached logits). Fields are length-prefixed or canonical JSON, so no two
 * different eval sets share a serialisation.
 */
export function evalSetHash(
  inputs: readonly Pick<EvalInput, 'name' | 'dtype' | 'shape' | 'bytes'>[],
  labels: Pick<EvalInput, 'dtype' | 'shape' | 'bytes'>,
  transforms: Record<string, InputTransform>,
  classSubset: readonly number[] | null,
): string {
  const hash = createHash('sha256');
  const field = (text: string) => hash.update(`${Buffer.byteLength(text)}:${text}`);
  field(EVALSET_HASH_SCHEME);
  for (const t of [...inputs, { name: 'labels', ...labels }]) {
    field(canonicalJson({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes.byteLength }));
    hash.update(t.bytes);
  }
  field(canonicalJson({ inputs: inputs.map((i) => i.name), transform: transforms, classSubset }));
  return hash.digest('hex');
}

/** Tensors and metadata of a safetensors file without reading its data (to tell eval sets from state dicts). */
export function readSafetensorsHeaderFile(
  file: string,
): { tensors: StoredTensor[]; metadata: Record<string, string> } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    const length = Number(head.readBigUInt64LE(0));
    if (length <= 0 || 8 + length > fs.fstatSync(fd).size) return null;
    const header = Buffer.alloc(length);
    fs.readSync(fd, header, 0, length, 8);
    const parsed = JSON.parse(header.toString('utf8')) as Record<
      string,
      { dtype?: string; shape?: number[] }
    >;
    const metadata = (parsed.__metadata__ ?? {}) as Record<string, string>;
    const tensors = Object.entries(parsed)
      .filter(([name]) => name !== '__metadata__')
      .map(([name, t]) => ({ name, dtype: t.dtype as StoredDtype, shape: t.shape ?? [], begin: 0, end: 0 }));
    return { tensors, metadata };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
