import type { ErrorInfo } from '../../src-main/common/errors';
import type { JobChannel, JobResult } from '../../src-main/common/api';
import { api, ApiError } from './api';
import type { JobProgress, JobSummary } from './types';

/** How a job the view started ended: its result typed by the channel that started it, or cancelled. */
export type JobOutcome<C extends JobChannel> =
  { summary: JobSummary; result: JobResult<C> } | { summary: JobSummary; result: null };

/** Every job of this session as the service reports it, kept live from job events. */
class JobsState {
  jobs = $state<JobSummary[]>([]);

  constructor() {
    api.on('job:state', (summary) => this.upsert(summary));
    api.on('job:progress', (progress) => this.progress(progress));
    void api.call('jobs:list', {}).then((r) => (this.jobs = r.jobs));
  }

  get running(): JobSummary[] {
    return this.jobs.filter((j) => j.state === 'running');
  }

  byId(jobId: string): JobSummary | undefined {
    return this.jobs.find((j) => j.jobId === jobId);
  }

  /**
   * Waits for a job started on `channel`. A failed job throws its typed error (for the ErrorBanner); a
   * cancelled one resolves with a null result, because cancelling is the user's choice, not a failure.
   * The result's type is the one the contract declares for the channel (`jobChannel`).
   */
  async wait<C extends JobChannel>(channel: C, jobId: string): Promise<JobOutcome<C>> {
    const summary = await this.settled(jobId);
    if (summary.state === 'failed') throw jobFailure(summary);
    if (summary.state !== 'done') return { summary, result: null };
    return { summary, result: summary.result as JobResult<C> };
  }

  /** Resolves with the job's final summary (done, failed or cancelled). */
  settled(jobId: string): Promise<JobSummary> {
    return new Promise((resolve) => {
      const check = (summary: JobSummary) => {
        if (summary.jobId !== jobId || summary.state === 'running') return false;
        off();
        resolve(summary);
        return true;
      };
      const off = api.on('job:state', (s) => void check(s));
      // The job may have ended before we subscribed.
      void api.call('jobs:get', { jobId }).then((s) => check(s));
    });
  }

  cancel(jobId: string): Promise<unknown> {
    return api.call('jobs:cancel', { jobId });
  }

  private upsert(summary: JobSummary): void {
    const index = this.jobs.findIndex((j) => j.jobId === summary.jobId);
    if (index === -1) this.jobs = [summary, ...this.jobs];
    else this.jobs[index] = { ...summary, progress: summary.progress ?? this.jobs[index]!.progress };
  }

  private progress(progress: JobProgress): void {
    const job = this.jobs.find((j) => j.jobId === progress.jobId);
    if (job) job.progress = progress;
  }
}

/** The typed error of a failed job. */
function jobFailure(summary: JobSummary): ApiError {
  return new ApiError(
    (summary.error ?? { code: 'internal', message: `${summary.title} failed` }) as ErrorInfo,
  );
}

export const jobs = new JobsState();
