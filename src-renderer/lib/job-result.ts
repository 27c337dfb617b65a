import type { ErrorInfo } from '../../src-main/common/errors';
import { ApiError } from './api';
import { jobs } from './jobs.svelte';
import type { JobSummary } from './types';

/**
 * Waits for a job the view started. A failed job throws its typed error (for the ErrorBanner); a cancelled
 * one resolves with a null result, because cancelling is the user's choice, not a failure.
 */
export async function awaitJob<T>(jobId: string): Promise<{ summary: JobSummary; result: T | null }> {
  const summary = await jobs.wait(jobId);
  if (summary.state === 'failed') throw jobFailure(summary);
  return { summary, result: summary.state === 'done' ? ((summary.result ?? null) as T | null) : null };
}

/** The typed error of a failed job. */
export function jobFailure(summary: JobSummary): ApiError {
  return new ApiError(
    (summary.error ?? { code: 'internal', message: `${summary.title} failed` }) as ErrorInfo,
  );
}
