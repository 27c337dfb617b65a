/**
 * Decodes many image files on worker threads and hands the results back strictly in file order, so the
 * bytes written never depend on which worker finished first. At most a small window of images is in
 * flight or waiting for an earlier one, so memory stays bounded whatever the folder size.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TureenError } from '../../../common/errors.js';
import { packageRoot } from '../../paths.js';
import { UndecodableImage } from './decode.js';
import type { PixelPipeline, PreparedImage } from './preprocess.js';
import { prepareFile } from './preprocess.js';

export interface WorkerTask {
  index: number;
  file: string;
  pipeline: PixelPipeline;
}

export type WorkerReply =
  | { index: number; ok: true; image: PreparedImage }
  | { index: number; ok: false; reason: string; internal?: boolean };

/** One file's outcome, delivered in file order. */
export type DecodeOutcome = { index: number; file: string } & (
  { ok: true; image: PreparedImage } | { ok: false; reason: string }
);

export interface PoolOptions {
  /** worker threads; 0 decodes on the calling thread (still in order) */
  workers?: number;
  signal?: AbortSignal;
}

/** Images decoded ahead of the next one to hand back, per worker. */
const WINDOW_PER_WORKER = 4;

export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism());
}

/** The compiled worker: beside this module when running compiled, else in a source checkout's build output. */
export function decodeWorkerFile(): string {
  const sibling = path.join(path.dirname(fileURLToPath(import.meta.url)), 'decode-worker.js');
  if (fs.existsSync(sibling)) return sibling;
  const built = path.join(packageRoot(), 'out', 'node', 'core', 'datasets', 'import', 'decode-worker.js');
  if (fs.existsSync(built)) return built;
  throw new TureenError(
    'internal',
    `the image decoder is not built (${built} missing): run \`npm run build\``,
    {
      file: built,
    },
  );
}

/** Calls `deliver` once per file, in order; resolves when every file was delivered. */
export async function decodeInOrder(
  files: readonly string[],
  pipeline: PixelPipeline,
  deliver: (outcome: DecodeOutcome) => void,
  options: PoolOptions = {},
): Promise<void> {
  const workers = Math.min(options.workers ?? defaultWorkerCount(), files.length);
  if (workers <= 0) return decodeOnThisThread(files, pipeline, deliver, options.signal);
  return decodeOnWorkers(files, pipeline, deliver, workers, options.signal);
}

function cancelled(): TureenError {
  return new TureenError('cancelled', 'image import cancelled');
}

async function decodeOnThisThread(
  files: readonly string[],
  pipeline: PixelPipeline,
  deliver: (outcome: DecodeOutcome) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (let index = 0; index < files.length; index++) {
    if (signal?.aborted) throw cancelled();
    const file = files[index]!;
    try {
      deliver({ index, file, ok: true, image: await prepareFile(file, pipeline) });
    } catch (error) {
      if (!(error instanceof UndecodableImage)) throw error;
      deliver({ index, file, ok: false, reason: error.reason });
    }
  }
}

function decodeOnWorkers(
  files: readonly string[],
  pipeline: PixelPipeline,
  deliver: (outcome: DecodeOutcome) => void,
  count: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const entry = decodeWorkerFile();
  return new Promise<void>((resolve, reject) => {
    const pool: Worker[] = [];
    const waiting = new Map<number, WorkerReply>();
    let nextToSend = 0;
    let nextToDeliver = 0;
    let finished = false;

    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      for (const worker of pool) void worker.terminate();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(cancelled());

    const feed = (worker: Worker) => {
      if (finished || nextToSend >= files.length) return;
      // Keep the reorder buffer bounded: do not run too far ahead of the oldest undelivered file.
      if (nextToSend - nextToDeliver >= count * WINDOW_PER_WORKER) return;
      const task: WorkerTask = { index: nextToSend, file: files[nextToSend]!, pipeline };
      nextToSend++;
      worker.postMessage(task);
    };

    const idle: Worker[] = [];
    const onReply = (worker: Worker, reply: WorkerReply) => {
      if (finished) return;
      if (!reply.ok && reply.internal) {
        finish(
          new TureenError('internal', `decoding ${files[reply.index]}: ${reply.reason}`, {
            file: files[reply.index],
          }),
        );
        return;
      }
      waiting.set(reply.index, reply);
      try {
        for (let ready = waiting.get(nextToDeliver); ready; ready = waiting.get(nextToDeliver)) {
          waiting.delete(nextToDeliver);
          const file = files[nextToDeliver]!;
          deliver(
            ready.ok
              ? { index: nextToDeliver, file, ok: true, image: ready.image }
              : { index: nextToDeliver, file, ok: false, reason: ready.reason },
          );
          nextToDeliver++;
        }
      } catch (error) {
        finish(error);
        return;
      }
      if (nextToDeliver === files.length) {
        finish();
        return;
      }
      idle.push(worker);
      // Delivering may have opened the window again: give every idle worker its next file.
      while (
        idle.length &&
        nextToSend < files.length &&
        nextToSend - nextToDeliver < count * WINDOW_PER_WORKER
      )
        feed(idle.shift()!);
    };

    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    for (let i = 0; i < count; i++) {
      const worker = new Worker(entry);
      worker.on('message', (reply: WorkerReply) => onReply(worker, reply));
      worker.on('error', (error) =>
        finish(new TureenError('internal', `image decoder thread failed: ${error.message}`)),
      );
      worker.on('exit', (code) => {
        if (!finished) finish(new TureenError('internal', `image decoder thread exited (code ${code})`));
      });
      pool.push(worker);
      feed(worker);
    }
  });
}
