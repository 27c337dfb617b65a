import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TureenError } from '../../common/errors.js';
import { packageRoot } from '../paths.js';
import type { WorkerReply, WorkerRequest, WorkerTask } from './protocol.js';
import { runTask } from './run-task.js';

/**
 * A few worker threads for the CPU-heavy steps of cooking (adding checkpoints, converting and writing the
 * soup, hashing). The thread that serves the UI (Electron's main process, `tureen serve`'s event loop)
 * only posts tasks and awaits them, so it keeps answering while a soup cooks. Tasks get the worker's
 * lane (0 … size-1), which owns a scratch region of the shared memory they work in.
 *
 * `TUREEN_WORKERS=0` runs every task in the calling thread instead (the same functions, the same bits):
 * the baseline of bench/responsiveness.mjs, and the path taken when the worker script is not built.
 */

interface Pending {
  make: (lane: number) => WorkerTask | null;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Lane {
  worker: Worker | null;
  /** the task it runs: settle it if the worker dies */
  running: Pending | null;
  task: WorkerTask | null;
  id: number;
}

export class WorkerPool {
  readonly size: number;
  private readonly lanes: Lane[];
  private readonly queue: Pending[] = [];
  /** a worker could not start (the script cannot load here): every task runs in the calling thread */
  private broken: string | null = null;

  constructor(
    readonly entry: string,
    size: number,
  ) {
    this.size = size;
    this.lanes = Array.from({ length: size }, () => ({ worker: null, running: null, task: null, id: 0 }));
  }

  /**
   * Run the task `make(lane)` returns on the next free worker. `make` is called only when a worker is free,
   * so it can check for cancellation late; when it returns null nothing runs and the result is null.
   */
  run<R>(make: (lane: number) => WorkerTask | null): Promise<R | null> {
    return new Promise<R | null>((resolve, reject) => {
      this.queue.push({ make, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Why the pool runs tasks in the calling thread, when a worker could not start; else null. */
  get fallback(): string | null {
    return this.broken;
  }

  private pump(): void {
    if (this.broken) {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.runHere(next, 0);
      return;
    }
    for (const [index, lane] of this.lanes.entries()) {
      if (lane.running) continue;
      const next = this.queue.shift();
      if (!next) return;
      let task: WorkerTask | null;
      try {
        task = next.make(index);
      } catch (error) {
        next.reject(error);
        continue;
      }
      if (!task) {
        next.resolve(null);
        continue;
      }
      const worker = this.workerOf(lane);
      lane.running = next;
      lane.task = task;
      worker.ref();
      const request: WorkerRequest = { id: ++lane.id, task };
      worker.postMessage(request);
    }
  }

  /** Run a task in this thread (after the event loop had a turn), settling its promise. */
  private runHere(pending: Pending, lane: number, given?: WorkerTask): void {
    setImmediate(() => {
      try {
        const task = given ?? pending.make(lane);
        if (!task) return pending.resolve(null);
        Promise.resolve(runTask(task)).then(pending.resolve, pending.reject);
      } catch (error) {
        pending.reject(error);
      }
    });
  }

  private workerOf(lane: Lane): Worker {
    if (lane.worker) return lane.worker;
    const worker = new Worker(this.entry, { name: 'tureen-worker' });
    // `ready` comes once the worker script and its imports have loaded (worker.ts)
    let online = false;
    worker.unref();
    worker.on('message', (reply: WorkerReply | { ready: true }) => {
      if ('ready' in reply) {
        online = true;
        return;
      }
      const pending = lane.running;
      if (!pending || reply.id !== lane.id) return;
      lane.running = null;
      lane.task = null;
      worker.unref();
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(new TureenError(reply.error.code, reply.error.message, reply.error.detail));
      this.pump();
    });
    const fail = (error: unknown) => {
      if (lane.worker !== worker) return;
      lane.worker = null;
      const pending = lane.running;
      const task = lane.task;
      lane.running = null;
      lane.task = null;
      if (!online) {
        // the script did not load (a packaging problem): cook in this thread rather than not at all
        this.broken = error instanceof Error ? error.message : String(error);
        if (pending && task) this.runHere(pending, 0, task);
        this.pump();
        return;
      }
      pending?.reject(
        new TureenError(
          'internal',
          `a worker thread stopped: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      this.pump();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(`exit code ${code}`));
    lane.worker = worker;
    return worker;
  }

  /** Stop every worker (tests; a process exits without it, idle workers do not keep it alive). */
  async close(): Promise<void> {
    const workers = this.lanes.map((l) => l.worker).filter((w): w is Worker => w !== null);
    for (const lane of this.lanes) lane.worker = null;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The compiled worker script: next to this module when compiled, else in the CLI build of a checkout. */
export function workerEntryFile(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sibling = path.join(here, 'worker.js');
  if (fs.existsSync(sibling)) return sibling;
  try {
    const built = path.join(packageRoot(), 'out', 'node', 'core', 'workers', 'worker.js');
    if (fs.existsSync(built)) return built;
  } catch {
    // not inside a Tureen package: no workers
  }
  return null;
}

/** TUREEN_WORKERS: 0 (or off) runs tasks in the calling thread; a number sets the pool's size. */
export function configuredSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TUREEN_WORKERS?.trim().toLowerCase();
  if (raw === '0' || raw === 'off' || raw === 'false') return 0;
  const given = raw ? Number.parseInt(raw, 10) : NaN;
  if (Number.isFinite(given) && given > 0) return Math.min(given, 16);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.min(4, Math.max(2, cores));
}

let shared: WorkerPool | null | undefined;

/** The process's pool, or null when workers are off or not built. */
export function workerPool(): WorkerPool | null {
  if (shared === undefined) {
    const size = configuredSize();
    const entry = size > 0 ? workerEntryFile() : null;
    shared = entry ? new WorkerPool(entry, size) : null;
  }
  return shared;
}

/** How many scratch lanes a task may use: the pool's size, or 1 in the calling thread. */
export function laneCount(): number {
  return workerPool()?.size ?? 1;
}

/**
 * Run a task on the pool, or in this thread when there is none. Same signature either way, so callers have
 * one path; the in-thread run still yields to the event loop first so progress and cancel get a turn.
 */
export async function dispatch<R>(make: (lane: number) => WorkerTask | null): Promise<R | null> {
  const pool = workerPool();
  if (pool) return pool.run<R>(make);
  await new Promise((resolve) => setImmediate(resolve));
  const task = make(0);
  return task ? ((await runTask(task)) as R) : null;
}

/** sha256 over strings and bytes in order, on a worker (bytes over shared memory are not copied). */
export async function sha256Parts(parts: Array<string | Uint8Array>): Promise<string> {
  return (await dispatch<string>(() => ({ op: 'hash-parts', parts })))!;
}

/** For tests and benches: forget the pool (the next call reads TUREEN_WORKERS again). */
export async function resetWorkerPool(): Promise<void> {
  const old = shared;
  shared = undefined;
  await old?.close();
}
