import { api } from './api';
import type { JobProgress, JobSummary } from './types';

/** Every job of this session as the service reports it, kept live from job events. */
export class JobsState {
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

  /** Resolves with the job's final summary (done, failed or cancelled). */
  wait(jobId: string): Promise<JobSummary> {
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

export const jobs = new JobsState();
