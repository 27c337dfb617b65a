import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { TureenError } from '../../common/errors.js';
import { embed } from '../checkpoints/family-graph.js';
import { PROTOBUF_LIMIT } from '../checkpoints/onnx-file.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { dtypeBytes } from '../tensors/dtypes.js';
import type { Accumulation } from '../tensors/kernels.js';
import { addScaled, firstNonFinite, writeScaled } from '../tensors/kernels.js';
import type { SimdKernel } from '../tensors/simd.js';
import { simdKernelFor } from '../tensors/simd.js';

/**
 * The CPU-heavy steps of cooking as plain functions over shared memory: a worker thread runs them (see
 * worker.ts), and the accumulator runs the very same functions in its own thread when workers are off, so
 * both paths give the same bits.
 */

/** Bytes per read and per converted chunk (stays in cache between reading, hashing and adding). */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Running sums as every thread sees them: a shared WebAssembly memory (float32) or a shared buffer. */
export interface SharedSums {
  /** the SIMD kernel's memory when the sums are float32 in WebAssembly memory */
  memory: WebAssembly.Memory | null;
  buffer: SharedArrayBuffer | ArrayBuffer;
  precision: 'f32' | 'f64';
  /** element count */
  length: number;
}

export interface SumPiece {
  name: string;
  /** first element in the sums */
  accStart: number;
  count: number;
  dtype: FloatDType;
  /** byte offset of the piece within its read */
  at: number;
  /** element index of the piece's first value within its tensor (for error messages) */
  firstElement: number;
}

export interface SumRead {
  file: string;
  position: number;
  length: number;
  pieces: SumPiece[];
  coefficient: number;
}

/** Where a NaN/Inf was found: the read and piece (indices into the task's lists), element and value. */
export interface NonFinite {
  read: number;
  piece: number;
  index: number;
  value: number;
}

function sumsView(sums: SharedSums): Accumulation {
  return sums.precision === 'f32'
    ? new Float32Array(sums.buffer, 0, sums.length)
    : new Float64Array(sums.buffer, 0, sums.length);
}

let localScratch: Buffer | null = null;
function scratchBuffer(bytes: number): Buffer {
  if (!localScratch || localScratch.byteLength < bytes) localScratch = Buffer.allocUnsafeSlow(bytes);
  return localScratch;
}

const kernels = new WeakMap<WebAssembly.Memory, SimdKernel | null>();
function kernelFor(memory: WebAssembly.Memory): SimdKernel | null {
  if (!kernels.has(memory)) kernels.set(memory, simdKernelFor(memory));
  return kernels.get(memory)!;
}

/** Read exactly `length` bytes at `position`, or fail saying the file changed. */
export function readFully(fd: number, file: string, buf: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0)
      throw new TureenError('io_error', `${file} ended early; did it change while cooking?`, { file });
    done += n;
  }
}

/**
 * sums += coefficient × (each read's pieces), reads in order. `scratch` is this thread's own region of
 * the WebAssembly memory (float32 sums): reads land there and the SIMD kernel adds them without a copy.
 * Returns the first NaN/Inf met (the sums are then partly added; the caller discards them).
 */
export function accumulateReads(
  sums: SharedSums,
  reads: readonly SumRead[],
  scratch: { byte: number; bytes: number } | null,
): NonFinite | null {
  const values = sumsView(sums);
  const kernel = sums.memory && scratch ? kernelFor(sums.memory) : null;
  const longest = reads.reduce((m, r) => Math.max(m, r.length), 0);
  const inWasm = kernel !== null && scratch !== null && longest <= scratch.bytes;
  const buf = inWasm
    ? new Uint8Array(sums.memory!.buffer, scratch.byte, scratch.bytes)
    : scratchBuffer(longest);
  const fds = new Map<string, number>();
  try {
    for (const [r, read] of reads.entries()) {
      let fd = fds.get(read.file);
      if (fd === undefined) {
        fd = fs.openSync(read.file, 'r');
        fds.set(read.file, fd);
      }
      readFully(fd, read.file, buf, read.length, read.position);
      for (const [p, piece] of read.pieces.entries()) {
        const bytes = buf.subarray(piece.at, piece.at + piece.count * dtypeBytes(piece.dtype));
        let finite: boolean;
        if (inWasm && piece.dtype === 'f32') {
          const vectorised = piece.count - (piece.count % 4);
          const flagged = kernel.addF32(
            piece.accStart * 4,
            scratch.byte + piece.at,
            vectorised,
            read.coefficient,
          );
          const tail = addScaled(
            values,
            piece.accStart + vectorised,
            bytes.subarray(vectorised * 4),
            'f32',
            read.coefficient,
          );
          finite = !flagged && Number.isFinite(tail);
        } else {
          finite = Number.isFinite(addScaled(values, piece.accStart, bytes, piece.dtype, read.coefficient));
        }
        if (!finite) {
          const bad = firstNonFinite(bytes, piece.dtype);
          return { read: r, piece: p, index: bad?.index ?? 0, value: bad?.value ?? Number.NaN };
        }
      }
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  return null;
}

/** A tensor's scaled values placed into an output buffer in `dtype` at byte `outByte`. */
export interface ConvertPiece {
  accStart: number;
  count: number;
  dtype: FloatDType;
  outByte: number;
}

/** out[piece] = scale × sums[piece] in each piece's dtype (rounded once, as writeScaled does). */
export function convertSums(
  sums: SharedSums,
  pieces: readonly ConvertPiece[],
  scale: number,
  out: SharedArrayBuffer | ArrayBuffer,
): void {
  const values = sumsView(sums);
  for (const p of pieces)
    writeScaled(
      values,
      p.accStart,
      p.count,
      scale,
      p.dtype,
      new Uint8Array(out, p.outByte, p.count * dtypeBytes(p.dtype)),
    );
}

/** One stretch of an output file: given bytes, zeros (alignment padding), or scaled sums. */
export type FilePart =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'zeros'; length: number }
  | { kind: 'sums'; accStart: number; count: number; dtype: FloatDType };

/** A written file: its sha256 and size, or where the soup was not finite in its dtype (then stopped). */
export interface Written {
  sha256: string;
  bytes: number;
  bad: { part: number; index: number; value: number } | null;
}

/** First element of converted bytes that is not finite, checked cheaply first (one pass, no decoding). */
function nonFiniteIn(bytes: Uint8Array, dtype: FloatDType): { index: number; value: number } | null {
  if (dtype === 'f32' || dtype === 'f64') {
    const view =
      dtype === 'f32'
        ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
        : new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    let probe = 0;
    for (let i = 0; i < view.length; i++) probe += view[i]! * 0;
    if (probe === 0) return null;
  } else {
    const view = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    const mask = dtype === 'f16' ? 0x7c00 : 0x7f80;
    let any = false;
    for (let i = 0; i < view.length; i++) if ((view[i]! & mask) === mask) any = true;
    if (!any) return null;
  }
  return firstNonFinite(bytes, dtype);
}

/**
 * Write `parts` in order at the fd's current position, converting the sums chunk by chunk into one reused
 * buffer, and hash the bytes as they go: the file's sha256 without reading it back. Stops at the first
 * value that is not finite in its output dtype (coefficients that overflow it).
 */
export function writeParts(
  sums: SharedSums | null,
  fd: number,
  parts: readonly FilePart[],
  scale: number,
): Written {
  const hash = createHash('sha256');
  const values = sums ? sumsView(sums) : null;
  let total = 0;
  const put = (bytes: Uint8Array) => {
    hash.update(bytes);
    let done = 0;
    while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
    total += bytes.byteLength;
  };
  for (const [index, part] of parts.entries()) {
    if (part.kind === 'bytes') put(part.bytes);
    else if (part.kind === 'zeros') put(new Uint8Array(part.length));
    else {
      if (!values) throw new TureenError('internal', 'writeParts: sums parts without sums');
      const width = dtypeBytes(part.dtype);
      const step = Math.floor(CHUNK_BYTES / width / 8) * 8;
      const buf = scratchBuffer(CHUNK_BYTES);
      for (let start = 0; start < part.count; start += step) {
        const count = Math.min(step, part.count - start);
        const dest = buf.subarray(0, count * width);
        writeScaled(values, part.accStart + start, count, scale, part.dtype, dest);
        const bad = nonFiniteIn(dest, part.dtype);
        if (bad)
          return {
            sha256: '',
            bytes: total,
            bad: { part: index, index: start + bad.index, value: bad.value },
          };
        put(dest);
      }
    }
  }
  return { sha256: hash.digest('hex'), bytes: total, bad: null };
}

/** One float initializer of an .onnx soup: its name and where its values are in the sums. */
export interface OnnxTensor {
  name: string;
  accStart: number;
  count: number;
  dtype: FloatDType;
}

/**
 * An .onnx soup with embedded weights: parse the graph (its float initializers emptied), put each one's
 * scaled sums in it, serialise and write. Protobuf encoding of a whole model is the slow part, so it
 * runs here, not on the UI's thread.
 */
export function writeOnnxEmbedded(
  sums: SharedSums,
  fd: number,
  graphBytes: Uint8Array,
  tensors: readonly OnnxTensor[],
  scale: number,
): Written {
  const model = fromBinary(ModelProtoSchema, graphBytes);
  const byName = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  const values = sumsView(sums);
  for (const [index, t] of tensors.entries()) {
    const bytes = new Uint8Array(t.count * dtypeBytes(t.dtype));
    writeScaled(values, t.accStart, t.count, scale, t.dtype, bytes);
    const bad = nonFiniteIn(bytes, t.dtype);
    if (bad) return { sha256: '', bytes: 0, bad: { part: index, index: bad.index, value: bad.value } };
    const proto = byName.get(t.name);
    if (!proto) throw new TureenError('internal', `writeOnnxEmbedded: no initializer "${t.name}"`);
    embed(proto, bytes);
  }
  const out = toBinary(ModelProtoSchema, model);
  if (out.byteLength > PROTOBUF_LIMIT) {
    throw new TureenError(
      'not_supported',
      'the soup is over 2 GiB with embedded weights; write it with external data',
    );
  }
  return writeParts(null, fd, [{ kind: 'bytes', bytes: out }], 1);
}

/** to[0, bytes) = from[0, bytes): a copy of running sums (a greedy candidate starts as the soup so far). */
export function copySums(
  from: SharedArrayBuffer | ArrayBuffer,
  to: SharedArrayBuffer | ArrayBuffer,
  bytes: number,
): null {
  new Uint8Array(to, 0, bytes).set(new Uint8Array(from, 0, bytes));
  return null;
}

/** Flush a file to disk (seconds for a large soup on a slow disk: not on the UI's thread). */
export function syncFile(fd: number): null {
  fs.fsyncSync(fd);
  return null;
}

/**
 * sha256 of a file, read in CHUNK_BYTES reads with the next read in flight (on libuv's threads) while this
 * thread hashes the current chunk: a cold file hashes at the disk's speed or SHA-256's, not their sum.
 */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
    let position = 0;
    let pending = handle.read(buffers[0]!, 0, CHUNK_BYTES, position);
    for (let i = 0; ; i++) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      pending = handle.read(buffers[(i + 1) % 2]!, 0, CHUNK_BYTES, position);
      hash.update(buffer.subarray(0, bytesRead));
    }
    await pending.catch(() => undefined);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** sha256 over strings and byte ranges, in order (a soup's weights with its graph key). */
export function hashParts(parts: ReadonlyArray<string | Uint8Array>): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest('hex');
}
