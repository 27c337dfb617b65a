import fs from 'node:fs';
import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { dtypeBytes, elementCount, isFloatDType } from '../tensors/dtypes.js';
import type { Accumulation } from '../tensors/kernels.js';
import { addScaled as addScaledKernel, firstNonFinite, writeScaled } from '../tensors/kernels.js';
import type { SimdKernel } from '../tensors/simd.js';
import { createSimdKernel } from '../tensors/simd.js';
import type { Ingredient } from './ingredient.js';
import type { WeightLayout } from './layout.js';

/** Bytes per read: large enough to amortise system calls, small enough to stay in cache while adding. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Reads in flight while the main thread adds the previous chunk (libuv threads do the reading). */
export const READ_AHEAD = 3;
/** addScaledMany: bytes of one tensor slice summed over all ingredients (the sums' slice stays in cache). */
export const MANY_SLICE_BYTES = 32 * 1024 * 1024;
/** Small tensors closer than this in one file are fetched with one read. */
const MERGE_GAP = 64 * 1024;

export type Precision = 'f32' | 'f64';

interface Piece {
  name: string;
  accStart: number;
  count: number;
  dtype: FloatDType;
  /** where the piece starts in the read buffer */
  at: number;
  /** element index of the piece's first value within its tensor (for error messages) */
  firstElement: number;
}

interface Read {
  file: string;
  position: number;
  length: number;
  pieces: Piece[];
  ingredient: Ingredient;
  coefficient: number;
}

interface Slot {
  start: number;
  count: number;
}

/**
 * A flat float32 (or float64) buffer over a weight layout: the running sums of a soup. Adding an
 * ingredient streams its tensors from disk in chunks, with the next reads in flight while the current
 * chunk is added, so memory is this buffer plus a few chunks whatever the number of ingredients.
 */
export class WeightAccumulator {
  readonly layout: WeightLayout;
  readonly precision: Precision;
  readonly values: Accumulation;
  private readonly slots: Map<string, Slot>;
  /** float32 sums live in WebAssembly memory, with the read buffers after them, so chunks are read
   *  straight into memory the SIMD kernel adds from (no copy); null: the JavaScript kernel is used */
  private readonly simd: SimdKernel | null;
  private readonly scratchStart: number;
  private readonly wasmBuffer: ArrayBufferLike | null;
  private streaming = false;

  constructor(layout: WeightLayout, options: { precision?: Precision } = {}) {
    this.layout = layout;
    this.precision = options.precision ?? 'f32';
    this.slots = new Map();
    let start = 0;
    for (const e of layout.entries) {
      const count = elementCount(e.shape);
      this.slots.set(e.name, { start, count });
      start += count;
    }
    this.scratchStart = Math.ceil((start * 4) / 64) * 64;
    this.simd =
      this.precision === 'f32'
        ? createSimdKernel(this.scratchStart + (READ_AHEAD + 1) * READ_CHUNK_BYTES, this)
        : null;
    this.wasmBuffer = this.simd ? this.simd.memory.buffer : null;
    if (this.wasmBuffer) this.values = new Float32Array(this.wasmBuffer, 0, start);
    else this.values = this.precision === 'f64' ? new Float64Array(start) : new Float32Array(start);
  }

  get elementCount(): number {
    return this.values.length;
  }

  /** whether the layout holds this tensor */
  has(name: string): boolean {
    return this.slots.has(name);
  }

  private slot(name: string): Slot {
    const slot = this.slots.get(name);
    if (!slot) throw new TureenError('internal', `no tensor "${name}" in this accumulator`);
    return slot;
  }

  /** this += coefficient × ingredient, streamed tensor by tensor; rejects NaN/Inf naming the tensor. */
  async addScaled(
    ingredient: Ingredient,
    coefficient: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    if (!Number.isFinite(coefficient)) {
      throw new TureenError(
        'bad_request',
        `coefficient for ${ingredient.path} is ${coefficient}; coefficients must be finite`,
      );
    }
    const reads: Read[] = [];
    const inMemory: Array<{ piece: Piece; bytes: Uint8Array }> = [];
    const fileParts: Array<{ file: string; offset: number; byteLength: number; piece: Piece }> = [];
    for (const e of this.layout.entries) {
      const piece = this.pieceOf(ingredient, e);
      const location = ingredient.locate(e.name);
      if (location.kind === 'memory') inMemory.push({ piece, bytes: location.bytes });
      else
        fileParts.push({
          file: location.file,
          offset: location.offset,
          byteLength: location.byteLength,
          piece,
        });
    }
    fileParts.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.offset - b.offset));
    let current: Read | null = null;
    for (const part of fileParts) {
      const size = dtypeBytes(part.piece.dtype);
      if (part.byteLength > READ_CHUNK_BYTES) {
        current = null;
        const step = READ_CHUNK_BYTES - (READ_CHUNK_BYTES % size);
        for (let b = 0; b < part.byteLength; b += step) {
          const length = Math.min(step, part.byteLength - b);
          reads.push({
            file: part.file,
            position: part.offset + b,
            length,
            pieces: [
              {
                ...part.piece,
                accStart: part.piece.accStart + b / size,
                count: length / size,
                firstElement: b / size,
              },
            ],
            ingredient,
            coefficient,
          });
        }
        continue;
      }
      const end = current ? current.position + current.length : 0;
      const mergeable =
        current !== null &&
        current.file === part.file &&
        part.offset >= end &&
        part.offset - end <= MERGE_GAP &&
        part.offset + part.byteLength - current.position <= READ_CHUNK_BYTES &&
        (part.offset - current.position) % size === 0;
      if (current && mergeable) {
        current.pieces.push({ ...part.piece, at: part.offset - current.position });
        current.length = part.offset + part.byteLength - current.position;
      } else {
        current = {
          file: part.file,
          position: part.offset,
          length: part.byteLength,
          pieces: [{ ...part.piece }],
          ingredient,
          coefficient,
        };
        reads.push(current);
      }
    }
    for (const { piece, bytes } of inMemory) this.addPiece(ingredient, piece, bytes, coefficient);
    await this.stream(reads, options.signal);
  }

  /** The whole of one layout tensor in an ingredient, checked to be a float tensor of the right size. */
  private pieceOf(ingredient: Ingredient, e: WeightLayout['entries'][number]): Piece {
    const info = ingredient.tensor(e.name);
    if (!info) {
      throw new TureenError(
        'family_mismatch',
        `${ingredient.path}: has no tensor "${e.name}"; it is not in this family`,
        {
          file: ingredient.path,
          tensor: e.name,
        },
      );
    }
    const slot = this.slot(e.name);
    if (!isFloatDType(info.dtype) || elementCount(info.shape) !== slot.count) {
      throw new TureenError(
        'family_mismatch',
        `${ingredient.path}: tensor "${e.name}" is ${info.dtype}[${info.shape.join(', ')}], expected a float tensor of shape [${e.shape.join(', ')}]`,
        { file: ingredient.path, tensor: e.name },
      );
    }
    return {
      name: e.name,
      accStart: slot.start,
      count: slot.count,
      dtype: info.dtype,
      at: 0,
      firstElement: 0,
    };
  }

  /**
   * this += Σ coefficient_i × ingredient_i, chunk-major: a slice of one tensor is read from every
   * ingredient and added while that slice of the sums is still in cache, so the sums cross memory once
   * per slice instead of once per ingredient. Read buffers stay the same size whatever N.
   */
  async addScaledMany(
    parts: ReadonlyArray<{ ingredient: Ingredient; coefficient: number }>,
    options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<void> {
    for (const p of parts) {
      if (!Number.isFinite(p.coefficient)) {
        throw new TureenError(
          'bad_request',
          `coefficient for ${p.ingredient.path} is ${p.coefficient}; coefficients must be finite`,
        );
      }
    }
    if (parts.length === 0) return;
    const reads: Read[] = [];
    for (const e of this.layout.entries) {
      const pieces = parts.map((p) => ({
        part: p,
        piece: this.pieceOf(p.ingredient, e),
        location: p.ingredient.locate(e.name),
      }));
      // one slice per ingredient fits a read buffer; all N slices together about MANY_SLICE_BYTES
      const size = Math.max(...pieces.map((p) => dtypeBytes(p.piece.dtype)));
      const span = Math.max(
        1024,
        Math.min(READ_CHUNK_BYTES / size, Math.floor(MANY_SLICE_BYTES / parts.length / size / 64) * 64),
      );
      for (let start = 0; start < pieces[0]!.piece.count; start += span) {
        for (const { part, piece, location } of pieces) {
          const count = Math.min(span, piece.count - start);
          const slice: Piece = { ...piece, accStart: piece.accStart + start, count, firstElement: start };
          const width = dtypeBytes(piece.dtype);
          if (location.kind === 'memory') {
            this.addPiece(
              part.ingredient,
              slice,
              location.bytes.subarray(start * width, (start + count) * width),
              part.coefficient,
            );
          } else {
            reads.push({
              file: location.file,
              position: location.offset + start * width,
              length: count * width,
              pieces: [slice],
              ingredient: part.ingredient,
              coefficient: part.coefficient,
            });
          }
        }
      }
    }
    await this.stream(reads, options.signal, options.onProgress);
  }

  private addPiece(ingredient: Ingredient, piece: Piece, bytes: Uint8Array, coefficient: number): void {
    let finite: boolean;
    if (this.simd && piece.dtype === 'f32' && bytes.buffer === this.wasmBuffer) {
      const vectorised = piece.count - (piece.count % 4);
      const flagged = this.simd.addF32(piece.accStart * 4, bytes.byteOffset, vectorised, coefficient);
      const tail = addScaledKernel(
        this.values,
        piece.accStart + vectorised,
        bytes.subarray(vectorised * 4),
        'f32',
        coefficient,
      );
      finite = !flagged && Number.isFinite(tail);
    } else {
      finite = Number.isFinite(addScaledKernel(this.values, piece.accStart, bytes, piece.dtype, coefficient));
    }
    if (!finite) this.throwNonFinite(ingredient, piece, bytes);
  }

  private throwNonFinite(
    ingredient: Ingredient,
    piece: Pick<Piece, 'name' | 'firstElement' | 'dtype'>,
    bytes: Uint8Array,
  ): void {
    const bad = firstNonFinite(bytes, piece.dtype);
    const where = bad ? ` (element ${piece.firstElement + bad.index} is ${bad.value})` : '';
    throw new TureenError(
      'bad_checkpoint',
      `${ingredient.path}: tensor "${piece.name}" contains NaN or Inf${where}; this checkpoint cannot go into a soup`,
      { file: ingredient.path, tensor: piece.name },
    );
  }

  private async stream(
    reads: readonly Read[],
    signal?: AbortSignal,
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    if (reads.length === 0) return;
    if (this.streaming) {
      throw new TureenError('internal', 'one addScaled at a time per accumulator (they share read buffers)');
    }
    const handles = new Map<string, Promise<fs.promises.FileHandle>>();
    this.streaming = true;
    const free: Buffer[] = [];
    const depth = Math.min(READ_AHEAD, reads.length);
    const bufferBytes = Math.min(READ_CHUNK_BYTES, Math.max(...reads.map((r) => r.length)));
    for (let i = 0; i <= depth; i++) {
      free.push(
        this.wasmBuffer
          ? Buffer.from(this.wasmBuffer, this.scratchStart + i * READ_CHUNK_BYTES, bufferBytes)
          : Buffer.allocUnsafeSlow(bufferBytes),
      );
    }
    const inflight: Array<Promise<{ read: Read; buf: Buffer }>> = [];
    let next = 0;
    let processed = 0;
    const fetch = async (read: Read, buf: Buffer) => {
      let opening = handles.get(read.file);
      if (!opening) {
        opening = fs.promises.open(read.file, 'r');
        handles.set(read.file, opening);
      }
      const handle = await opening;
      let done = 0;
      while (done < read.length) {
        const { bytesRead } = await handle.read(buf, done, read.length - done, read.position + done);
        if (bytesRead === 0)
          throw new TureenError('io_error', `${read.file} ended early; did it change while cooking?`, {
            file: read.file,
          });
        done += bytesRead;
      }
      return { read, buf };
    };
    const startNext = () => {
      const read = reads[next++]!;
      const promise = fetch(read, free.pop()!);
      promise.catch(() => undefined);
      inflight.push(promise);
    };
    try {
      while (next < reads.length && inflight.length < depth) startNext();
      while (inflight.length) {
        const { read, buf } = await inflight.shift()!;
        if (next < reads.length) startNext();
        for (const piece of read.pieces) {
          const size = dtypeBytes(piece.dtype);
          this.addPiece(
            read.ingredient,
            piece,
            buf.subarray(piece.at, piece.at + piece.count * size),
            read.coefficient,
          );
        }
        free.push(buf);
        processed++;
        if (onProgress && (processed % 64 === 0 || processed === reads.length))
          onProgress(processed, reads.length);
        signal?.throwIfAborted();
      }
    } finally {
      await Promise.allSettled(inflight);
      this.streaming = false;
      const opened = await Promise.allSettled(handles.values());
      await Promise.all(opened.map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)));
    }
  }

  /** Overwrite elements [start, start + values.length) of one tensor (merge methods write their result here). */
  setRange(name: string, start: number, values: ArrayLike<number>): void {
    const slot = this.slot(name);
    if (start < 0 || start + values.length > slot.count) {
      throw new TureenError(
        'internal',
        `tensor "${name}": elements ${start}..${start + values.length} outside its ${slot.count}`,
      );
    }
    this.values.set(values, slot.start + start);
  }

  /** this += coefficient × other (same layout) */
  addAccumulator(other: WeightAccumulator, coefficient = 1): void {
    this.checkSame(other);
    const a = this.values;
    const b = other.values;
    for (let i = 0; i < a.length; i++) a[i] = a[i]! + coefficient * b[i]!;
  }

  copyFrom(other: WeightAccumulator): void {
    this.checkSame(other);
    this.values.set(other.values);
  }

  clone(): WeightAccumulator {
    const copy = new WeightAccumulator(this.layout, { precision: this.precision });
    copy.values.set(this.values);
    return copy;
  }

  scale(factor: number): void {
    const a = this.values;
    for (let i = 0; i < a.length; i++) a[i] = a[i]! * factor;
  }

  reset(): void {
    this.values.fill(0);
  }

  /** One tensor as bytes in `dtype`, scaled by `scale` (rounded once to nearest even). */
  tensorBytes(name: string, scale = 1, dtype?: FloatDType): Uint8Array {
    const slot = this.slot(name);
    const entry = this.layout.entries.find((e) => e.name === name)!;
    const out = new Uint8Array(slot.count * dtypeBytes(dtype ?? entry.dtype));
    writeScaled(this.values, slot.start, slot.count, scale, dtype ?? entry.dtype, out);
    return out;
  }

  /**
   * scale × this as one buffer in `layout`'s dtypes and offsets (default: this accumulator's layout),
   * ready to be onnxruntime's `externalData` for a family graph.
   */
  toBuffer(scale = 1, layout: WeightLayout = this.layout): Buffer {
    const buf = Buffer.alloc(layout.totalBytes);
    for (const e of layout.entries) {
      const slot = this.slot(e.name);
      if (slot.count !== elementCount(e.shape)) {
        throw new TureenError(
          'internal',
          `tensor "${e.name}": layout has ${elementCount(e.shape)} elements, accumulator ${slot.count}`,
        );
      }
      writeScaled(
        this.values,
        slot.start,
        slot.count,
        scale,
        e.dtype,
        buf.subarray(e.offset, e.offset + e.byteLength),
      );
    }
    return buf;
  }

  private checkSame(other: WeightAccumulator): void {
    if (
      other.values.length !== this.values.length ||
      other.layout.entries.length !== this.layout.entries.length
    ) {
      throw new TureenError('internal', 'accumulators over different layouts');
    }
  }
}
