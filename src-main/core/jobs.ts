import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { JobChannel, JobResult } from '../common/api.js';
import type { JobProgress, JobSummary } from '../common/api/jobs.js';
import { TureenError, toErrorInfo } from '../common/errors.js';
import type { EventBus } from './events.js';

type Summary = z.output<typeof JobSummary>;
type Progress = z.output<typeof JobProgress>;

export interface ProgressUpdate {
  done: number;
  total?: number | null;
  unit?: string;
  message?: string;
}

/** What a job's body gets: a way to report progress and a signal that says it was cancelled. */
export interface JobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  progress(update: ProgressUpdate): void;
  /** Throws a `cancelled` TureenError when the job was cancelled; call between units of work. */
  throwIfCancelled(): void;
}

/** The typed error of a job that failed or was cancelled. */
function jobError(summary: Summary): TureenError {
  const error = summary.error ?? { code: 'cancelled', message: `${summary.title}: cancelled` };
  return new TureenError(error.code as TureenError['code'], error.message, error.detail);
}

const PROGRESS_INTERVAL_MS = 100;
const RATE_WINDOW_MS = 5000;

/** Runs long work with progress, cancellation and a typed outcome; keeps the last jobs for the UI. */
export class JobRunner {
  private readonly jobs = new Map<
    string,
    { summary: Summary; controller: AbortController; settled: Promise<unknown> }
  >();

  constructor(
    private readonly events: EventBus,
    private readonly keep = 200,
  ) {}

  start<T>(kind: string, title: string, body: (ctx: JobContext) => Promise<T>): string {
    const jobId = randomUUID();
    const controller = new AbortController();
    const summary: Summary = {
      jobId,
      kind,
      title,
      state: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      progress: null,
      error: null,
    };
    const samples: Array<{ t: number; done: number }> = [];
    let lastEmit = 0;
    const ctx: JobContext = {
      jobId,
      signal: controller.signal,
      progress: (update) => {
        const now = Date.now();
        samples.push({ t: now, done: update.done });
        while (samples.length > 2 && now - samples[0]!.t > RATE_WINDOW_MS) samples.shift();
        const first = samples[0]!;
        const dt = (now - first.t) / 1000;
        const rate = dt > 0.2 ? (update.done - first.done) / dt : null;
        const total = update.total ?? summary.progress?.total ?? null;
        const progress: Progress = {
          jobId,
          done: update.done,
          total,
          unit: update.unit ?? summary.progress?.unit ?? 'items',
          rate,
          etaSeconds: rate && rate > 0 && total !== null ? Math.max(0, (total - update.done) / rate) : null,
          message: update.message ?? summary.progress?.message ?? '',
        };
        summary.progress = progress;
        const finished = total !== null && update.done >= total;
        if (finished || now - lastEmit >= PROGRESS_INTERVAL_MS) {
          lastEmit = now;
          this.events.emit('job:progress', progress);
        }
      },
      throwIfCancelled: () => {
        if (controller.signal.aborted) throw new TureenError('cancelled', `${title}: cancelled`);
      },
    };
    const settled = (async () => {
      try {
        summary.result = await body(ctx);
        summary.state = controller.signal.aborted ? 'cancelled' : 'done';
      } catch (error) {
        const info = toErrorInfo(error);
        summary.state = controller.signal.aborted || info.code === 'cancelled' ? 'cancelled' : 'failed';
        summary.error = info;
      }
      summary.finishedAt = new Date().toISOString();
      this.events.emit('job:state', { ...summary });
    })();
    this.jobs.set(jobId, { summary, controller, settled });
    this.prune();
    this.events.emit('job:state', { ...summary });
    return jobId;
  }

  /**
   * Wait for a job to end. With only its id: the final summary (done, failed or cancelled), for callers that
   * look at failures themselves. With the channel that started it: the job's result, typed by the
   * contract's `jobChannel` declaration; a failed or cancelled job rejects with its typed error.
   */
  wait(jobId: string): Promise<Summary>;
  wait<C extends JobChannel>(channel: C, jobId: string): Promise<JobResult<C>>;
  async wait(...args: [string] | [JobChannel, string]): Promise<unknown> {
    const jobId = args.length === 1 ? args[0] : args[1];
    const job = this.jobs.get(jobId);
    if (!job) throw new TureenError('not_found', `no job ${jobId}`);
    await job.settled;
    const summary = { ...job.summary };
    if (args.length === 1) return summary;
    if (summary.state === 'done') return summary.result;
    throw jobError(summary);
  }

  get(jobId: string): Summary {
    const job = this.jobs.get(jobId);
    if (!job) throw new TureenError('not_found', `no job ${jobId} in this session`);
    return { ...job.summary };
  }

  list(): Summary[] {
    return [...this.jobs.values()].map((j) => ({ ...j.summary, result: undefined })).reverse();
  }

  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job || job.summary.state !== 'running') return false;
    job.controller.abort();
    return true;
  }

  cancelAll(): void {
    for (const job of this.jobs.values()) if (job.summary.state === 'running') job.controller.abort();
  }

  private prune(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= this.keep) break;
      if (job.summary.state !== 'running') this.jobs.delete(id);
    }
  }
}
