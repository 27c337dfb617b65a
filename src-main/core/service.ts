import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { Api, ApiRequest, ApiResponse, Channel, JobChannel, JobResult } from '../common/api.js';
import type { EventBus } from './events.js';
import type { EvaluationEngine } from './inference/engine.js';
import type { JobRunner } from './jobs.js';
import type { TureenPaths } from './paths.js';

export type Transport = 'electron' | 'http' | 'cli';

/** What every domain service gets from the Kitchen. */
export interface ServiceContext {
  db: Database;
  jobs: JobRunner;
  events: EventBus;
  /** the Kitchen's evaluation engine (inference host, logits cache); created and closed by the Kitchen */
  engine: EvaluationEngine;
  paths: TureenPaths;
  transport: Transport;
}

/**
 * A typed in-process client of the contract (the Kitchen is one). Modules that read through the contract,
 * as the report does, get this instead of the Kitchen, so they see exactly what every other client sees.
 */
export interface ApiClient {
  /** an untrusted channel name and payload (what a transport forwards); validated like every call */
  invoke(channel: string, payload: unknown): Promise<unknown>;
  call<C extends Channel>(channel: C, request: ApiRequest<C>): Promise<ApiResponse<C>>;
  /** start a job and wait for its typed result; a failed or cancelled job rejects with its error */
  run<C extends JobChannel>(channel: C, request: ApiRequest<C>): Promise<JobResult<C>>;
}

/** A handler receives the already validated (parsed) request. */
export type Handler<C extends Channel> = (
  request: z.output<Api[C]['request']>,
) => Promise<ApiResponse<C>> | ApiResponse<C>;

export type Handlers<C extends Channel> = { [K in C]: Handler<K> };
