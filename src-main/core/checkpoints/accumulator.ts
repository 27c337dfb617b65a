import os from 'node:os';
import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { dtypeBytes, elementCount, isFloatDType } from '../tensors/dtypes.js';
import type { Accumulation } from '../tensors/kernels.js';
import { addScaled as addScaledKernel, firstNonFinite, writeScaled } from '../tensors/kernels.js';
import type { SimdKernel } from '../tensors/simd.js';
import { createSimdKernel } from '../tensors/simd.js';
import type { ConvertPiece, NonFinite, SharedSums, SumPiece, SumRead } from '../workers/ops.js';
import { dispatch, laneCount } from '../workers/pool.js';
import type { Ingredient } from './ingredient.js';
import type { WeightLayout } from './layout.js';

/** Bytes per read: large enough to amortise system calls, small enough to stay in cache while adding. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Bytes of reads per worker task: large enough to amortise a message, small enough to cancel promptly. */
export const TASK_BYTES = 32 * 1024 * 1024;
/** Elements per conversion task of toBufferShared (several tasks per large tensor keep all workers busy). */
const CONVERT_ELEMENTS = 4 * 1024 * 1024;
/** addScaledMany: bytes of one tensor slice summed over all ingredients (the sums' slice stays in cache). */
export const MANY_SLICE_BYTES = 32 * 1024 * 1024;
/** Small tensors closer than this in one file are fetched with one read. */
const MERGE_GAP = 64 * 1024;

export type Precision = 'f32' | 'f64';

/** a run of one tensor's values within a read, and where they add into the sums */
type Piece = SumPiece;

interface Read extends SumRead {
  pieces: Piece[];
  ingredient: Ingredient;
  /** reads of one unit add into the same sums: they stay in one task, in order */
  unit: number;
}

/**
 * The memory a process may use: the machine's, or less under a cgroup limit (a container), or
 * TUREEN_MEMORY_LIMIT_MB when set (a shared machine, and the tests).
 */
export function memoryLimitBytes(env: NodeJS.ProcessEnv = process.env): number {
  const given = Number.parseInt(env.TUREEN_MEMORY_LIMIT_MB ?? '', 10);
  if (Number.isFinite(given) && given > 0) return given * 2 ** 20;
  const constrained = process.constrainedMemory?.() ?? 0;
  const total = os.totalmem();
  return constrained > 0 && constrained < total ? constrained : total;
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/**
 * A soup's sums are one model's weights in float32 (float64 when asked) held in memory while the
 * ingredients stream through. Refuse, before reading any weights, a soup whose sums need more than 80 % of
 * the memory the process may use, rather than growing until the system kills it.
 */
export function assertSoupFits(
  elements: number,
  precision: Precision,
  what: string,
  limit = memoryLimitBytes(),
): void {
  const need = elements * (precision === 'f64' ? 8 : 4);
  if (need <= 0.8 * limit) return;
  throw new TureenError(
    'not_supported',
    `${what}: a soup of ${elements.toLocaleString('en-US')} parameters needs ${gib(need)} GiB of memory for its ${precision === 'f64' ? 'float64' : 'float32'} sums, ` +
      `more than 80 % of the ${gib(limit)} GiB this process may use. Cook it on a machine with at least ${gib(need / 0.8)} GiB` +
      `${precision === 'f64' ? ', or without --precision f64' : ''} (TUREEN_MEMORY_LIMIT_MB sets the limit).`,
  );
}

interface Slot {
  start: number;
  count: number;
}

/**
 * A flat float32 (or float64) buffer over a weight layout: the running sums of a soup. Adding an
 * ingredient streams its tensors from disk in chunks, so memory is this buffer plus a chunk per worker
 * whatever the number of ingredients. The buffer is shared memory: the reads and adds run on worker
 * threads (core/workers), each into its own scratch region after the sums, while the calling thread only
 * awaits them; tasks never touch the same sums at once, so the result does not depend on the scheduling.
 */
export class WeightAccumulator {
  readonly layout: WeightLayout;
  readonly precision: Precision;
  readonly values: Accumulation;
  private readonly slots: Map<string, Slot>;
  /** float32 sums live in WebAssembly memory, with one read buffer per worker lane after them, so chunks
   *  are read straight into memory the SIMD kernel adds from (no copy); null: the JavaScript kernel is used */
  private readonly simd: SimdKernel | null;
  private readonly scratchStart: number;
  private readonly lanes: number;
  private streaming = false;

  constructor(
    layout: WeightLayout,
    options: {
      precision?: Precision;
      /** false: the caller overwrites the sums at once (cloneShared), so they need not be zeroed */
      zeroed?: boolean;
    } = {},
  ) {
    this.layout = layout;
    this.precision = options.precision ?? 'f32';
    this.slots = new Map();
    let start = 0;
    for (const e of layout.entries) {
      const count = elementCount(e.shape);
      this.slots.set(e.name, { start, count });
      start += count;
    }
    assertSoupFits(start, this.precision, 'cooking');
    this.scratchStart = Math.ceil((start * 4) / 64) * 64;
    this.lanes = laneCount();
    this.simd =
      this.precision === 'f32'
        ? createSimdKernel(this.scratchStart + this.lanes * READ_CHUNK_BYTES, this, options.zeroed ?? true)
        : null;
    if (this.simd) this.values = new Float32Array(this.simd.memory.buffer, 0, start);
    else {
      const shared = new SharedArrayBuffer(start * (this.precision === 'f64' ? 8 : 4));
      this.values = this.precision === 'f64' ? new Float64Array(shared) : new Float32Array(shared);
    }
  }

  /** The sums as a worker thread sees them. */
  private shared(): SharedSums {
    return {
      memory: this.simd?.memory ?? null,
      buffer: this.values.buffer as SharedArrayBuffer,
      precision: this.precision,
      length: this.values.length,
    };
  }

  get elementCount(): number {
    return this.values.length;
  }

  /** whether the layout holds this tensor */
  has(name: string): boolean {
    return this.slots.has(name);
  }

  /** the slot of a layout entry, which must hold as many elements as the entry's shape */
  private entrySlot(e: { name: string; shape: readonly number[] }): Slot {
    const slot = this.slot(e.name);
    if (slot.count !== elementCount(e.shape)) {
      throw new TureenError(
        'internal',
        `tensor "${e.name}": layout has ${elementCount(e.shape)} elements, accumulator ${slot.count}`,
      );
    }
    return slot;
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
            unit: reads.length,
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
          unit: reads.length,
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
        const unit = reads.length;
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
              unit,
            });
          }
        }
      }
    }
    await this.stream(reads, options.signal, options.onProgress);
  }

  /** Add bytes already in memory (tensors a reader decoded, not file ranges) in this thread: they are small. */
  private addPiece(ingredient: Ingredient, piece: Piece, bytes: Uint8Array, coefficient: number): void {
    const probe = addScaledKernel(this.values, piece.accStart, bytes, piece.dtype, coefficient);
    if (!Number.isFinite(probe)) this.throwNonFinite(ingredient, piece, bytes);
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

  /**
   * Run the reads as worker tasks of about TASK_BYTES each (a unit never split), all queued at once: the
   * pool hands each to the next free worker with that worker's scratch lane. Cancellation is checked as
   * each task starts; the first failure (in read order) is thrown once every task has settled.
   */
  private async stream(
    reads: readonly Read[],
    signal?: AbortSignal,
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    if (reads.length === 0) return;
    if (this.streaming) {
      throw new TureenError('internal', 'one addScaled at a time per accumulator (they share read buffers)');
    }
    this.streaming = true;
    const batches: Read[][] = [];
    let batch: Read[] = [];
    let bytes = 0;
    for (const [i, read] of reads.entries()) {
      const unitEnds = i + 1 === reads.length || reads[i + 1]!.unit !== read.unit;
      batch.push(read);
      bytes += read.length;
      if (unitEnds && bytes >= TASK_BYTES) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length) batches.push(batch);
    const sums = this.shared();
    let processed = 0;
    try {
      const results = await Promise.allSettled(
        batches.map(async (list) => {
          const bad = await dispatch<NonFinite | null>((lane) =>
            signal?.aborted
              ? null
              : {
                  op: 'accumulate',
                  sums,
                  reads: list.map((r) => ({
                    file: r.file,
                    position: r.position,
                    length: r.length,
                    pieces: r.pieces,
                    coefficient: r.coefficient,
                  })),
                  scratch: this.simd
                    ? { byte: this.scratchStart + lane * READ_CHUNK_BYTES, bytes: READ_CHUNK_BYTES }
                    : null,
                },
          );
          processed += list.length;
          onProgress?.(processed, reads.length);
          return bad;
        }),
      );
      signal?.throwIfAborted();
      for (const [i, result] of results.entries()) {
        if (result.status === 'rejected') throw result.reason;
        const bad = result.value;
        if (bad) {
          const read = batches[i]![bad.read]!;
          const piece = read.pieces[bad.piece]!;
          throw new TureenError(
            'bad_checkpoint',
            `${read.ingredient.path}: tensor "${piece.name}" contains NaN or Inf (element ${piece.firstElement + bad.index} is ${bad.value}); this checkpoint cannot go into a soup`,
            { file: read.ingredient.path, tensor: piece.name },
          );
        }
      }
    } finally {
      this.streaming = false;
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

  /** clone() with the copy on a worker thread (a model's worth of bytes; the caller only waits). */
  async cloneShared(): Promise<WeightAccumulator> {
    const copy = new WeightAccumulator(this.layout, { precision: this.precision, zeroed: false });
    const bytes = this.values.byteLength;
    await dispatch(() => ({
      op: 'copy',
      from: this.values.buffer as SharedArrayBuffer,
      to: copy.values.buffer as SharedArrayBuffer,
      bytes,
    }));
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
      const slot = this.entrySlot(e);
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

  /**
   * toBuffer() on the worker threads: the same bytes, in a Buffer over shared memory, converted in tasks
   * of CONVERT_ELEMENTS so the calling thread only waits.
   */
  async toBufferShared(scale = 1, layout: WeightLayout = this.layout): Promise<Buffer> {
    const out = new SharedArrayBuffer(layout.totalBytes);
    const tasks: ConvertPiece[][] = [];
    let batch: ConvertPiece[] = [];
    let elements = 0;
    for (const e of layout.entries) {
      const slot = this.entrySlot(e);
      const width = dtypeBytes(e.dtype);
      for (let start = 0; start < slot.count; start += CONVERT_ELEMENTS) {
        const count = Math.min(CONVERT_ELEMENTS, slot.count - start);
        batch.push({
          accStart: slot.start + start,
          count,
          dtype: e.dtype,
          outByte: e.offset + start * width,
        });
        elements += count;
        if (elements >= CONVERT_ELEMENTS) {
          tasks.push(batch);
          batch = [];
          elements = 0;
        }
      }
    }
    if (batch.length) tasks.push(batch);
    const sums = this.shared();
    await Promise.all(tasks.map((pieces) => dispatch(() => ({ op: 'convert', sums, pieces, scale, out }))));
    return Buffer.from(out);
  }

  /** The sums for a worker task that writes them out (soup.ts). */
  sharedSums(): SharedSums {
    return this.shared();
  }

  /** Where a tensor's values start in the sums and how many there are. */
  slotOf(name: string): { start: number; count: number } {
    return { ...this.slot(name) };
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
