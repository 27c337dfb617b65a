import { TureenError } from '../../common/errors.js';
import type { ChunkRequest, WireBytes } from './protocol.js';

/**
 * Large byte arrays to the inference host in bounded pieces. Both channels (`child_process` with advanced
 * serialisation, Electron's `utilityProcess`) serialise a message synchronously on the thread that sends it:
 * a 50 MB candidate's weights held the serving thread 25–70 ms in one go, and a 3 GB soup could not be sent
 * at all. Arrays above CHUNK_BYTES go as `chunk` messages ahead of the request that names them, the sender
 * yielding to the event loop after each piece; the host copies each piece into place and acknowledges it.
 */

/**
 * Arrays up to this size travel inline; larger ones in pieces of this size. Measured on this 2-core VM
 * (load 8, 50 MB through `fork` with advanced serialisation): 1 MiB pieces took 0.1 ms per send (max
 * 0.8 ms) and 43–66 ms for the whole array, like one 50 MB message (55–61 ms, all of it on the sending
 * thread); 4 MiB pieces took up to 47 ms for one send (the serialiser's fresh 4 MiB buffer is above
 * malloc's mmap threshold, and first-touch page faults are slow here).
 */
export const CHUNK_BYTES = 1024 * 1024;
/**
 * Pieces sent ahead of the host's acknowledgements: bounds what the channel queues (8 MiB) whatever the
 * array's size; 4 halved the throughput, 16 added nothing.
 */
export const CHUNK_WINDOW = 8;

export interface ChunkOptions {
  chunkBytes: number;
  window: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A copy that owns a plain ArrayBuffer when `bytes` lives in shared memory (the workers' conversion output):
 * Node's serialiser copies only a view's bytes, but a structured clone elsewhere may refuse a
 * SharedArrayBuffer or take the whole buffer behind a view.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.buffer instanceof ArrayBuffer ? bytes : new Uint8Array(bytes);
}

/** One chunked array of one request, parent side. */
export class ChunkUpload {
  private acked = 0;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    readonly id: number,
    readonly slot: number,
    readonly bytes: Uint8Array,
  ) {}

  /** The host's `received` for this slot. */
  acknowledge(received: number): void {
    this.acked = received;
    this.wakeUp();
  }

  /** The request ended before the transfer did (the host died or refused a piece): stop with this error. */
  fail(error: Error): void {
    this.error ??= error;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private check(signal: AbortSignal | undefined): void {
    if (this.error) throw this.error;
    if (signal?.aborted) throw new TureenError('cancelled', 'evaluation cancelled');
  }

  /**
   * Sends every piece through `send`, which must serialise the message before it returns (both channels
   * do): each piece is copied into one scratch array reused for the next, so memory stays at one piece,
   * and the copy is a plain array even when `bytes` is shared memory.
   */
  async run(
    send: (message: ChunkRequest) => void,
    options: ChunkOptions,
    signal?: AbortSignal,
  ): Promise<void> {
    const { bytes } = this;
    const total = bytes.byteLength;
    const scratch = new Uint8Array(Math.min(options.chunkBytes, total));
    const onAbort = () => this.wakeUp();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (let offset = 0; offset < total; offset += options.chunkBytes) {
        while (offset - this.acked >= options.window * options.chunkBytes) {
          this.check(signal);
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
        this.check(signal);
        const piece = bytes.subarray(offset, Math.min(total, offset + options.chunkBytes));
        scratch.set(piece);
        send({
          type: 'chunk',
          id: this.id,
          slot: this.slot,
          byteLength: total,
          offset,
          bytes: scratch.subarray(0, piece.byteLength),
        });
        // the serving thread answers whatever came in meanwhile before the next piece
        await yieldToEventLoop();
      }
      this.check(signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * A request's byte arrays as they go on the wire: small ones inline, each large one as a chunked slot whose
 * upload is added to `uploads` (to run before the request is sent).
 */
export function wireBytes(
  id: number,
  bytes: Uint8Array,
  uploads: ChunkUpload[],
  options: ChunkOptions,
): WireBytes {
  if (bytes.byteLength <= options.chunkBytes) return { kind: 'inline', bytes: plainBytes(bytes) };
  const upload = new ChunkUpload(id, uploads.length, bytes);
  uploads.push(upload);
  return { kind: 'chunked', slot: upload.slot, byteLength: bytes.byteLength };
}

/** Host side: the pieces of every array in transfer, each copied into one buffer of the array's length. */
export class ChunkAssembler {
  private readonly open = new Map<number, Map<number, { bytes: Buffer; received: number }>>();

  /** Copies a piece into place; returns the bytes of its slot received so far. */
  add(chunk: ChunkRequest): number {
    let slots = this.open.get(chunk.id);
    let entry = slots?.get(chunk.slot);
    if (!entry) {
      if (chunk.offset !== 0)
        throw new TureenError(
          'inference_failed',
          `piece at byte ${chunk.offset} of a transfer the inference host has not seen begin`,
        );
      // every byte is overwritten by the pieces before the array is used (take checks the count)
      entry = { bytes: Buffer.allocUnsafeSlow(chunk.byteLength), received: 0 };
      if (!slots) this.open.set(chunk.id, (slots = new Map()));
      slots.set(chunk.slot, entry);
    }
    const end = chunk.offset + chunk.bytes.byteLength;
    if (
      chunk.offset !== entry.received ||
      chunk.byteLength !== entry.bytes.byteLength ||
      end > entry.bytes.byteLength
    ) {
      this.drop(chunk.id);
      throw new TureenError(
        'inference_failed',
        `transfer ${chunk.id}/${chunk.slot}: piece at ${chunk.offset}..${end} of ${chunk.byteLength} bytes does not follow the ${entry.received} received`,
      );
    }
    entry.bytes.set(chunk.bytes, chunk.offset);
    entry.received = end;
    return end;
  }

  /** The bytes of a request's array: inline as they came, chunked once every piece has arrived. */
  take(id: number, wire: WireBytes): Uint8Array {
    if (wire.kind === 'inline') return wire.bytes;
    const slots = this.open.get(id);
    const entry = slots?.get(wire.slot);
    slots?.delete(wire.slot);
    if (slots?.size === 0) this.open.delete(id);
    if (!entry || entry.received !== wire.byteLength || entry.bytes.byteLength !== wire.byteLength) {
      throw new TureenError(
        'inference_failed',
        `transfer ${id}/${wire.slot}: ${entry?.received ?? 0} of ${wire.byteLength} bytes arrived before the request`,
      );
    }
    return entry.bytes;
  }

  /** Forget every array of a request (cancelled, failed, or done); true when there was one. */
  drop(id: number): boolean {
    return this.open.delete(id);
  }

  /** arrays in transfer (tests) */
  get pending(): number {
    let n = 0;
    for (const slots of this.open.values()) n += slots.size;
    return n;
  }
}
