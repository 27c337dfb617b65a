import type { ErrorInfo } from '../../common/errors.js';

/**
 * Messages between the Kitchen (parent) and the inference host process. The channel must carry binary data
 * as typed arrays (structured clone): `child_process.fork` with `serialization: 'advanced'`, or Electron's
 * `utilityProcess`. Both serialise a message on the sending thread in one go, so byte arrays above a few MiB
 * never travel inside a request: they go ahead of it as `chunk` messages (transfer.ts), acknowledged by
 * `received`, and the request names them by slot (`WireBytes`).
 */

/** Where a model's graph and weights come from. */
export type ModelSource =
  | { kind: 'file'; path: string }
  | {
      kind: 'buffer';
      /** identifies graphBytes: the host keeps graphs it has seen, so a soup step sends only its weights */
      graphKey: string;
      /** omitted when the host already holds graphKey */
      graphBytes?: Uint8Array;
      /** the external-data file name the graph's initializers point at */
      externalDataPath: string;
      weights: Uint8Array;
    };

/**
 * A byte array inside a request: small ones inline, large ones sent before the request as `chunk` messages
 * carrying the request's id and this slot (one slot per array of the request), which the host reassembles.
 */
export type WireBytes =
  { kind: 'inline'; bytes: Uint8Array } | { kind: 'chunked'; slot: number; byteLength: number };

/** A ModelSource as it crosses the channel: its byte arrays as WireBytes. */
export type WireModelSource =
  | { kind: 'file'; path: string }
  | {
      kind: 'buffer';
      graphKey: string;
      graphBytes?: WireBytes;
      externalDataPath: string;
      weights: WireBytes;
    };

/** One piece of a chunked byte array; the pieces of a slot arrive in order, each at the offset after the last. */
export interface ChunkRequest {
  type: 'chunk';
  /** the request the array belongs to */
  id: number;
  slot: number;
  /** the whole array's length (the host allocates it on the first piece) */
  byteLength: number;
  offset: number;
  bytes: Uint8Array;
}

export interface ValueInfo {
  name: string;
  type: string;
  shape: Array<number | string>;
}

export type HostRequest =
  | {
      type: 'load';
      id: number;
      modelKey: string;
      source: WireModelSource;
      provider: string;
      threads: number | null;
    }
  | {
      type: 'evaluate';
      id: number;
      modelKey: string;
      evalsetFile: string;
      evalsetHash: string;
      /**
       * size, mtime and inode of the file when the caller hashed it: the host then checks these instead of
       * hashing the file again (and refuses a file whose stamp differs); without it, the host hashes
       */
      evalsetStamp?: { size: number; mtimeMs: number; ino: number };
      batchSize: number;
    }
  | ChunkRequest
  /** stop request `id`: an evaluation between batches, or a transfer whose pieces the host then drops */
  | { type: 'cancel'; id: number }
  | { type: 'release'; modelKey: string };

export type HostResponse =
  | { type: 'ready'; pid: number; ortVersion: string }
  | {
      type: 'loaded';
      id: number;
      provider: string;
      /** why the requested provider was not used, when it was not */
      fallbackReason: string | null;
      inputs: ValueInfo[];
      outputs: ValueInfo[];
      loadMs: number;
    }
  | { type: 'progress'; id: number; done: number; total: number }
  /** bytes of request id's slot copied into place so far: the sender's flow control */
  | { type: 'received'; id: number; slot: number; received: number }
  | {
      type: 'evaluated';
      id: number;
      n: number;
      classes: number;
      logits: Float32Array;
      /** wall time of the batch loop, and of session.run alone */
      durationMs: number;
      runMs: number;
    }
  | { type: 'failed'; id: number; error: ErrorInfo };
