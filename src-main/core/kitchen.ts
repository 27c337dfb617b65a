import type { Database } from 'better-sqlite3';
import { api, isChannel } from '../common/api.js';
import type { ApiRequest, ApiResponse, Channel, JobChannel, JobResult } from '../common/api.js';
import { TureenError } from '../common/errors.js';
import { EventBus } from './events.js';
import { EvaluationEngine } from './inference/engine.js';
import type { HostSpawner } from './inference/spawner.js';
import { JobRunner } from './jobs.js';
import type { TureenPaths } from './paths.js';
import { resolvePaths } from './paths.js';
import type { ApiClient, Handler, Handlers, ServiceContext, Transport } from './service.js';
import { advisorHandlers } from './services/advisor.js';
import { appHandlers } from './services/app.js';
import { checkpointHandlers } from './services/checkpoints.js';
import { evalsetHandlers } from './services/evalsets.js';
import { evaluationHandlers } from './services/evaluations.js';
import { jobHandlers } from './services/jobs.js';
import { kitchenHandlers, registerDemoOnFirstStart } from './services/kitchens.js';
import { recipeHandlers } from './services/recipes.js';
import { reportHandlers } from './services/reports.js';
import { openDatabase } from './store/database.js';

export interface KitchenOptions {
  transport: Transport;
  dataDir?: string;
  databasePath?: string;
  /** null: do not register a demo kitchen on first start */
  demoKitchen?: string | null;
  nativeBinding?: string;
  /** Transport-specific handlers (the Electron shell's folder picker, printToPDF) override the defaults. */
  overrides?: Partial<Handlers<Channel>>;
  electronVersion?: string | null;
  /** How the inference host process is started (the Electron shell: a utilityProcess); default: fork. */
  hostSpawner?: HostSpawner;
}

/** A schema issue as `field.path: message`, so a client knows exactly which field is wrong. */
function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>) {
  return issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(request)',
    message: issue.message,
  }));
}

/**
 * The one service behind every front door (Electron IPC, HTTP, CLI). Transports call `invoke` with an
 * untrusted channel name and payload; everything is validated here.
 */
export class Kitchen implements ApiClient {
  readonly db: Database;
  readonly events = new EventBus();
  readonly jobs: JobRunner;
  readonly engine: EvaluationEngine;
  readonly paths: TureenPaths;
  readonly context: ServiceContext;
  private readonly handlers: Handlers<Channel>;

  constructor(options: KitchenOptions) {
    this.paths = resolvePaths(options);
    this.db = openDatabase(
      this.paths.databasePath,
      options.nativeBinding ? { nativeBinding: options.nativeBinding } : {},
    );
    this.jobs = new JobRunner(this.events);
    // the host process starts on the first evaluation, not here
    this.engine = new EvaluationEngine({ db: this.db, paths: this.paths }, options.hostSpawner);
    this.context = {
      db: this.db,
      jobs: this.jobs,
      events: this.events,
      engine: this.engine,
      paths: this.paths,
      transport: options.transport,
    };
    this.handlers = {
      ...appHandlers(this.context, options.electronVersion ?? null),
      ...checkpointHandlers(this.context),
      ...jobHandlers(this.context),
      ...kitchenHandlers(this.context),
      ...evalsetHandlers(this.context),
      ...evaluationHandlers(this.context),
      ...recipeHandlers(this.context),
      ...advisorHandlers(this.context),
      ...reportHandlers(this.context, this),
      ...options.overrides,
    };
    registerDemoOnFirstStart(this.context);
  }

  async invoke(channelName: string, payload: unknown): Promise<unknown> {
    if (!isChannel(channelName)) {
      throw new TureenError('unknown_channel', `unknown channel "${channelName}"`, { channel: channelName });
    }
    const parsed = api[channelName].request.safeParse(payload ?? {});
    if (!parsed.success) {
      const issues = describeIssues(parsed.error.issues);
      throw new TureenError(
        'bad_request',
        `${channelName}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        { channel: channelName, issues },
      );
    }
    const handler = this.handlers[channelName] as Handler<Channel>;
    return await handler(parsed.data as never);
  }

  /** Typed call for in-process clients (the CLI, the report). */
  call<C extends Channel>(channelName: C, request: ApiRequest<C>): Promise<ApiResponse<C>> {
    return this.invoke(channelName, request) as Promise<ApiResponse<C>>;
  }

  /** Start a job through the contract and wait for its result, typed by the channel's declaration. */
  async run<C extends JobChannel>(channelName: C, request: ApiRequest<C>): Promise<JobResult<C>> {
    const { jobId } = (await this.invoke(channelName, request)) as { jobId: string };
    return this.jobs.wait(channelName, jobId);
  }

  close(): void {
    this.jobs.cancelAll();
    this.engine.close();
    this.db.close();
  }
}
