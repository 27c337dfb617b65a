import { createHash } from 'node:crypto';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import { readRegularFile } from '../checkpoints/read-range.js';
import type { SafetensorsEntry, SafetensorsHeader } from '../checkpoints/safetensors.js';
import { readSafetensorsHeader } from '../checkpoints/safetensors.js';
import type { DType } from '../tensors/dtypes.js';
import { dtypeBytes, toSafetensorsDType } from '../tensors/dtypes.js';
import type { InputTransform } from './transform.js';
import { parseTransforms } from './transform.js';
import { metadataJson } from './metadata-json.js';
import { canonicalJson } from '../../common/canonical-json.js';

export const EVAL_ROLES = ['holdout', 'id', 'shift'] as const;
export type EvalRole = (typeof EVAL_ROLES)[number];

export interface EvalInput {
  name: string;
  dtype: DType;
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

const LABEL_DTYPES = new Set<DType>(['u8', 'i8', 'i16', 'i32', 'i64', 'u16', 'u32', 'u64']);

function readLabels(file: string, tensor: SafetensorsEntry, data: Uint8Array): Int32Array {
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
  const size = dtypeBytes(tensor.dtype);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    let v: number;
    switch (tensor.dtype) {
      case 'u8':
        v = view.getUint8(o);
        break;
      case 'i8':
        v = view.getInt8(o);
        break;
      case 'i16':
        v = view.getInt16(o, true);
        break;
      case 'u16':
        v = view.getUint16(o, true);
        break;
      case 'i32':
        v = view.getInt32(o, true);
        break;
      case 'u32':
        v = view.getUint32(o, true);
        break;
      default:
        v = Number(tensor.dtype === 'i64' ? view.getBigInt64(o, true) : view.getBigUint64(o, true));
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
 * A safetensors file whose 1-D integer `labels` of length N sits beside tensors with first axis N is an eval
 * set, not a state dict: the one rule discovery, the checkpoint reader and the eval-set reader share.
 */
export function looksLikeEvalSet(header: Pick<SafetensorsHeader, 'tensors'>): boolean {
  const labels = header.tensors.find((t) => t.name === 'labels');
  if (!labels || labels.shape.length !== 1 || !LABEL_DTYPES.has(labels.dtype)) return false;
  const others = header.tensors.filter((t) => t !== labels);
  return others.length > 0 && others.every((t) => t.shape[0] === labels.shape[0]);
}

/** Eval sets are read whole (streaming comes with the real-data issue); larger files are refused up front. */
const MAX_EVALSET_BYTES = 2 * 1024 ** 3;

export function readEvalSet(file: string): EvalSet {
  const absolute = path.resolve(file);
  const layout = readSafetensorsHeader(absolute, 'bad_evalset');
  const buffer = readRegularFile(absolute, 'bad_evalset', { bytes: MAX_EVALSET_BYTES, what: 'an eval set' });
  if (buffer.byteLength !== layout.bytes) {
    throw new TureenError('io_error', `${absolute} changed while it was read; read it again`, {
      file: absolute,
    });
  }
  const bytesOf = (t: SafetensorsEntry) => buffer.subarray(t.offset, t.offset + t.byteLength);
  const labelTensor = layout.tensors.find((t) => t.name === 'labels');
  if (!labelTensor) {
    throw new TureenError(
      'bad_evalset',
      `${absolute} has no "labels" tensor: an eval set holds one tensor per model input plus labels (see docs/cli.md)`,
      { file: absolute },
    );
  }
  const labels = readLabels(absolute, labelTensor, bytesOf(labelTensor));
  const n = labels.length;
  if (n === 0) {
    throw new TureenError(
      'bad_evalset',
      `${absolute} holds 0 examples ("labels" is empty): no metric is defined on an empty set`,
      { file: absolute, tensor: 'labels' },
    );
  }
  const inputs: EvalInput[] = layout.tensors
    .filter((t) => t.name !== 'labels')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: bytesOf(t) }));
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
  const transforms = parseTransforms(absolute, meta['tureen.transform'], inputs);
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
    { dtype: labelTensor.dtype, shape: labelTensor.shape, bytes: bytesOf(labelTensor) },
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
    // dtypes are hashed in the file's own spelling (F32, U8): hashes of existing sets never change
    field(
      canonicalJson({
        name: t.name,
        dtype: toSafetensorsDType(t.dtype),
        shape: t.shape,
        bytes: t.bytes.byteLength,
      }),
    );
    hash.update(t.bytes);
  }
  field(canonicalJson({ inputs: inputs.map((i) => i.name), transform: transforms, classSubset }));
  return hash.digest('hex');
}
