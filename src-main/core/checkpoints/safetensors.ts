import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import type { DType } from '../tensors/dtypes.js';
import { dtypeBytes, elementCount, fromSafetensorsDType, toSafetensorsDType } from '../tensors/dtypes.js';
import { writeAll } from './atomic.js';
import { resolveInside } from './paths.js';
import type { FileErrorCode } from './read-range.js';
import { openRegularFile, readAt, readRegularFile } from './read-range.js';

/** Headers above this are refused before allocating (the format's own reference reader uses 100 MB). */
export const MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024;
/** A shard index lists names and file names only; anything this large is not one. */
const MAX_SHARD_INDEX = 64 * 1024 * 1024;

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** absolute byte offset of the tensor's data in the file */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  file: string;
  bytes: number;
  /** where tensor data starts (8 + header length) */
  dataStart: number;
  tensors: SafetensorsEntry[];
  metadata: Record<string, string>;
}

function refusal(code: FileErrorCode) {
  return (file: string, message: string, detail: Record<string, unknown> = {}): TureenError =>
    new TureenError(code, `${file}: ${message}`, { file, ...detail });
}

/**
 * The data section must be covered exactly, as the format requires: tensors back to back from offset 0 with no
 * hole and no overlap, the last one ending at the end of the file. A header length that is off by one byte,
 * or bytes appended or cut off, therefore never reads every tensor shifted.
 */
function checkCoverage(
  file: string,
  tensors: readonly SafetensorsEntry[],
  dataStart: number,
  dataBytes: number,
  code: FileErrorCode,
): void {
  const bad = refusal(code);
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let end = dataStart;
  let previous: string | null = null;
  for (const t of sorted) {
    if (t.offset < end) {
      throw bad(file, `tensors "${previous}" and "${t.name}" overlap in the data section`, {
        tensors: [previous, t.name],
      });
    }
    if (t.offset > end) {
      throw bad(
        file,
        `${t.offset - end} bytes before tensor "${t.name}" belong to no tensor; the header is damaged`,
        { tensor: t.name },
      );
    }
    end = t.offset + t.byteLength;
    previous = t.name;
  }
  const covered = end - dataStart;
  if (covered !== dataBytes) {
    throw bad(
      file,
      `the tensors cover ${covered} data bytes but the file has ${dataBytes} after the header; the header length is wrong or the file was cut or extended`,
    );
  }
}

/** Parse and validate a header already in memory. */
function parseSafetensorsHeader(
  file: string,
  headerBytes: Uint8Array,
  fileBytes: number,
  code: FileErrorCode = 'bad_checkpoint',
): SafetensorsHeader {
  const bad = refusal(code);
  const dataStart = 8 + headerBytes.byteLength;
  let json: unknown;
  try {
    json = JSON.parse(
      Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString('utf8'),
    );
  } catch (error) {
    throw bad(
      file,
      `the safetensors header is not valid JSON (${(error as Error).message}); the file is damaged or not safetensors`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw bad(file, 'the safetensors header is not a JSON object; the file is damaged or not safetensors');
  }
  const dataBytes = fileBytes - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw bad(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(file, `__metadata__.${k} must be a string`, { key: k });
        metadata[k] = v;
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null)
      throw bad(file, `tensor "${name}": entry is not an object`, { tensor: name });
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof entry.dtype === 'string' ? fromSafetensorsDType(entry.dtype) : null;
    if (!dtype) {
      throw new TureenError(
        'not_supported',
        `${file}: tensor "${name}" has dtype ${JSON.stringify(entry.dtype)}, which Tureen does not read (F64, F32, F16, BF16, integers and BOOL are supported)`,
        { file, tensor: name },
      );
    }
    if (
      !Array.isArray(entry.shape) ||
      !entry.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
    ) {
      throw bad(
        file,
        `tensor "${name}": shape ${JSON.stringify(entry.shape)} is not a list of non-negative integers`,
        { tensor: name },
      );
    }
    const offsets = entry.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
    ) {
      throw bad(file, `tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not [begin, end]`, {
        tensor: name,
      });
    }
    const [begin, end] = offsets as [number, number];
    const shape = entry.shape as number[];
    const expected = elementCount(shape) * dtypeBytes(dtype);
    if (end < begin || end - begin !== expected) {
      throw bad(
        file,
        `tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`,
        { tensor: name },
      );
    }
    if (end > dataBytes) {
      throw bad(
        file,
        `tensor "${name}": data_offsets end ${end} is beyond the ${Math.max(0, dataBytes)} data bytes; the file is truncated`,
        { tensor: name },
      );
    }
    tensors.push({ name, dtype, shape, offset: dataStart + begin, byteLength: end - begin });
  }
  if (tensors.length === 0) throw bad(file, 'holds no tensors');
  checkCoverage(file, tensors, dataStart, dataBytes, code);
  return { file, bytes: fileBytes, dataStart, tensors, metadata };
}

/**
 * Read a safetensors file's header; never reads tensor data, never trusts a length before checking it.
 * `code` names what the file was opened as (a checkpoint or an eval set), so refusals say which.
 */
export function readSafetensorsHeader(
  file: string,
  code: FileErrorCode = 'bad_checkpoint',
): SafetensorsHeader {
  const bad = refusal(code);
  const { fd, size } = openRegularFile(file, code);
  try {
    if (size < 8) throw bad(file, `only ${size} bytes: too short for a safetensors file (truncated?)`);
    const prefix = readAt(fd, 8, 0);
    if (prefix.byteLength < 8)
      throw bad(file, 'ended while reading the header length; the file is truncated');
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(MAX_SAFETENSORS_HEADER)) {
      throw bad(
        file,
        `the header claims ${headerLength} bytes, more than the ${MAX_SAFETENSORS_HEADER}-byte limit; the file is damaged or not safetensors`,
      );
    }
    if (Number(headerLength) > size - 8) {
      throw bad(
        file,
        `the header claims ${headerLength} bytes but the file has only ${size - 8} after the length; the file is truncated`,
      );
    }
    if (headerLength < 2n) throw bad(file, 'the header is empty; the file is damaged or not safetensors');
    const header = readAt(fd, Number(headerLength), 8);
    if (header.byteLength < Number(headerLength))
      throw bad(file, 'ended while reading the header; the file is truncated');
    if (header[0] !== 0x7b)
      throw bad(file, 'the header does not start with "{"; this is not a safetensors file');
    return parseSafetensorsHeader(file, header, size, code);
  } finally {
    fs.closeSync(fd);
  }
}

export interface ShardIndex {
  file: string;
  metadata: Record<string, unknown>;
  /** tensor name → absolute shard path */
  weightMap: Map<string, string>;
  shards: string[];
}

/** `model.safetensors.index.json` (Hugging Face sharded layout); shard names may not leave the folder. */
export function readShardIndex(file: string): ShardIndex {
  const bad = refusal('bad_checkpoint');
  const bytes = readRegularFile(file, 'bad_checkpoint', { bytes: MAX_SHARD_INDEX, what: 'a shard index' });
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw bad(file, `not valid JSON (${(error as Error).message})`);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw bad(file, 'no "weight_map" object; a sharded safetensors index maps tensor names to shard files');
  }
  const dir = path.dirname(file);
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string')
      throw bad(file, `weight_map["${name}"] is not a file name`, { tensor: name });
    map.set(name, resolveInside(dir, shard, file));
  }
  if (map.size === 0)
    throw bad(file, '"weight_map" is empty: the index names no tensor, so there is no checkpoint to read');
  const metadata = (json as { metadata?: unknown }).metadata;
  return {
    file,
    metadata: typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {},
    weightMap: map,
    shards: [...new Set(map.values())].sort(),
  };
}

export interface TensorToWrite {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
}

/** The header bytes (length prefix + JSON padded with spaces to 8 bytes) and each tensor's data offset. */
export function buildSafetensorsHeader(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string>,
): { header: Buffer; offsets: number[] } {
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length) json.__metadata__ = metadata;
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    json[t.name] = {
      dtype: toSafetensorsDType(t.dtype),
      shape: t.shape,
      data_offsets: [offset, offset + t.byteLength],
    };
    offsets.push(offset);
    offset += t.byteLength;
  }
  let text = JSON.stringify(json);
  const pad = (8 - ((Buffer.byteLength(text) + 8) % 8)) % 8;
  text += ' '.repeat(pad);
  const body = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8 + body.byteLength);
  header.writeBigUInt64LE(BigInt(body.byteLength), 0);
  body.copy(header, 8);
  return { header, offsets };
}

/** Write a safetensors file to an open fd: header, then each tensor's bytes from `data(i)` in order. */
export function writeSafetensorsTo(
  fd: number,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string>,
  data: (index: number) => Uint8Array,
): void {
  const { header } = buildSafetensorsHeader(tensors, metadata);
  writeAll(fd, header);
  tensors.forEach((t, i) => {
    const bytes = data(i);
    if (bytes.byteLength !== t.byteLength) {
      throw new TureenError(
        'internal',
        `tensor "${t.name}": ${bytes.byteLength} bytes given, ${t.byteLength} declared`,
      );
    }
    writeAll(fd, bytes);
  });
}
