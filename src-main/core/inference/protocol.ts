import type { ErrorInfo } from '../../common/errors.js';

/**
 * Messages between the Kitchen (parent) and the inference host process. The channel must carry binary data
 * as typed arrays (structured clone): `child_process.fork` with `serialization: 'advanced'`, or Electron's
 * `utilityProcess`.
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
      source: ModelSource;
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
