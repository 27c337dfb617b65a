import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { Api, ApiResponse, Channel } from '../common/api.js';
import type { EventBus } from './events.js';
import type { JobRunner } from './jobs.js';
import type { TureenPaths } from './paths.js';

export type Transport = 'electron' | 'http' | 'cli';

/** What every domain service gets from the Kitchen. */
export interface ServiceContext {
  db: Database;
  jobs: JobRunner;
  events: EventBus;
  paths: TureenPaths;
  transport: Transport;
}

/** A handler receives the already validated (parsed) request. */
export type Handler<C extends Channel> = (
  request: z.output<Api[C]['request']>,
) => Promise<ApiResponse<C>> | ApiResponse<C>;

export type Handlers<C extends Channel> = { [K in C]: Handler<K> };
