import type { ErrorInfo } from '../../common/errors.js';
import type { ConvertPiece, FilePart, NonFinite, OnnxTensor, SharedSums, SumRead, Written } from './ops.js';

/** One unit of work for a worker thread; each maps to one function of ops.ts. */
export type WorkerTask =
  | {
      op: 'accumulate';
      sums: SharedSums;
      reads: SumRead[];
      /** this worker's own read region in the WebAssembly memory, when the sums live there */
      scratch: { byte: number; bytes: number } | null;
    }
  | { op: 'convert'; sums: SharedSums; pieces: ConvertPiece[]; scale: number; out: SharedArrayBuffer }
  | { op: 'write'; sums: SharedSums | null; fd: number; parts: FilePart[]; scale: number }
  | {
      op: 'write-onnx';
      sums: SharedSums;
      fd: number;
      graphBytes: Uint8Array;
      tensors: OnnxTensor[];
      scale: number;
    }
  | { op: 'fsync'; fd: number }
  | { op: 'copy'; from: SharedArrayBuffer; to: SharedArrayBuffer; bytes: number }
  | { op: 'hash-file'; file: string }
  | { op: 'hash-parts'; parts: Array<string | Uint8Array> };

export interface WorkerResults {
  accumulate: NonFinite | null;
  convert: null;
  write: Written;
  'write-onnx': Written;
  fsync: null;
  copy: null;
  'hash-file': string;
  'hash-parts': string;
}

export type TaskOf<K extends WorkerTask['op']> = Extract<WorkerTask, { op: K }>;

export interface WorkerRequest {
  id: number;
  task: WorkerTask;
}

export type WorkerReply =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: ErrorInfo };
