import { z } from 'zod';
import { channel, event } from '../contract.js';

export const JobStateName = z.enum(['running', 'done', 'failed', 'cancelled']);

export const ErrorInfoSchema = z.object({
  code: z.string(),
  message: z.string(),
  detail: z.unknown().optional(),
});

export const JobProgress = z.object({
  jobId: z.string(),
  done: z.number(),
  total: z.number().nullable(),
  unit: z.string(),
  /** items per second over the recent window, null until measurable */
  rate: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  message: z.string(),
});

export const JobSummary = z.object({
  jobId: z.string(),
  kind: z.string(),
  title: z.string(),
  state: JobStateName,
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  progress: JobProgress.nullable(),
  error: ErrorInfoSchema.nullable(),
  result: z.unknown().optional(),
});

export const jobsApi = {
  'jobs:list': channel(
    'Jobs of this session, newest first',
    z.object({}),
    z.object({ jobs: z.array(JobSummary) }),
  ),
  'jobs:get': channel('One job with its result', z.object({ jobId: z.string().min(1) }), JobSummary),
  'jobs:cancel': channel(
    'Ask a running job to stop; it ends in state cancelled',
    z.object({ jobId: z.string().min(1) }),
    z.object({ cancelled: z.boolean() }),
  ),
};

export const jobsEvents = {
  'job:progress': event('Progress of a running job (at most ~10 per second per job)', JobProgress),
  'job:state': event('A job started or ended', JobSummary),
};
