import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { TureenError } from '../../common/errors.js';
import type { JobContext } from '../jobs.js';
import type { TureenPaths } from '../paths.js';
import { deleteSetting, getSetting, setSetting } from '../store/settings-store.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { Evaluation, ModelIdentity } from '../store/evaluation-store.js';
import { saveEvaluation } from '../store/evaluation-store.js';
import type { EvalModel, EvalOutcome } from './evaluator.js';
import { Evaluator } from './evaluator.js';
import { InferenceHost } from './host.js';
import { LogitsCache } from './logits-cache.js';
import { detectProviders, preferredProvider } from './providers.js';
import type { HostSpawner } from './spawner.js';

export const DEFAULT_BATCH_SIZE = 256;

export interface RunSettings {
  provider: string;
  threads: number | null;
  batchSize: number;
  /** what was changed from the request and why (threads capped at the core count) */
  notes: string[];
}

/** What the engine keeps of its Kitchen: the store (evaluations, settings) and the data folder. */
interface EngineStore {
  db: Database;
  paths: TureenPaths;
}

/** The setting that moves the logits cache (default: <data dir>/cache/logits). */
export const CACHE_DIR_SETTING = 'logits_cache_dir';

export interface EngineEvaluation {
  record: Evaluation;
  outcome: EvalOutcome;
}

/**
 * Evaluations for one Kitchen: the inference host, the logits cache and the evaluations table, with the
 * provider chosen once per run and recorded with every result.
 */
export class EvaluationEngine {
  private readonly host: InferenceHost;
  readonly cache: LogitsCache;
  readonly evaluator: Evaluator;

  constructor(
    private readonly ctx: EngineStore,
    spawner?: HostSpawner,
  ) {
    // the Kitchen passes the Electron shell's utilityProcess spawner; without one the host is forked
    this.host = spawner ? new InferenceHost(spawner) : new InferenceHost();
    this.cache = new LogitsCache(
      getSetting(ctx.db, CACHE_DIR_SETTING) ?? path.join(ctx.paths.cacheDir, 'logits'),
    );
    this.evaluator = new Evaluator(this.host, this.cache);
  }

  /** Move the cache (null: back to the default) and remember the choice. */
  setCacheDir(dir: string | null): void {
    const target = dir ?? path.join(this.ctx.paths.cacheDir, 'logits');
    fs.mkdirSync(target, { recursive: true });
    if (dir === null) deleteSetting(this.ctx.db, CACHE_DIR_SETTING);
    else setSetting(this.ctx.db, CACHE_DIR_SETTING, dir);
    this.cache.dir = target;
  }

  settings(request: {
    provider?: string | undefined;
    threads?: number | undefined;
    batchSize?: number | undefined;
  }): RunSettings {
    const providers = detectProviders();
    let provider = request.provider;
    if (provider) {
      const status = providers.find((p) => p.name === provider);
      if (!status) {
        throw new TureenError(
          'bad_request',
          `unknown execution provider "${provider}"; this machine knows ${providers.map((p) => p.name).join(', ')}`,
        );
      }
      if (!status.available)
        throw new TureenError(
          'not_supported',
          `execution provider ${provider} is not available: ${status.reason ?? 'unknown reason'}`,
        );
    } else {
      provider = preferredProvider(providers);
    }
    // More intra-op threads than cores only adds contention (100,000 ran away): cap them, and say so.
    const cores = os.availableParallelism();
    const notes: string[] = [];
    let threads = request.threads ?? null;
    if (threads !== null && threads > cores) {
      notes.push(`${threads} threads asked, this machine has ${cores} cores: using ${cores}`);
      threads = cores;
    }
    return { provider, threads, batchSize: request.batchSize ?? DEFAULT_BATCH_SIZE, notes };
  }

  /** Evaluate and store; progress is reported in examples of this eval set, offset by `progressBase`. */
  async evaluate(
    model: EvalModel & { identity: ModelIdentity },
    set: EvalSet,
    settings: RunSettings,
    job?: { ctx: JobContext; base: number; total: number; message: string },
  ): Promise<EngineEvaluation> {
    job?.ctx.throwIfCancelled();
    const outcome = await this.evaluator.evaluate(model, set, {
      ...settings,
      ...(job
        ? {
            signal: job.ctx.signal,
            onProgress: (done: number) =>
              job.ctx.progress({
                done: job.base + done,
                total: job.total,
                unit: 'images',
                message: job.message,
              }),
          }
        : {}),
    });
    job?.ctx.throwIfCancelled();
    return { record: saveEvaluation(this.ctx.db, model.identity, set, outcome, settings.threads), outcome };
  }

  /** Let the host drop a loaded model no longer needed (a rejected candidate, a grid point). */
  release(modelHash: string): void {
    this.host.release(modelHash);
  }

  /** The ONNX Runtime version of the host, recorded with results. */
  ortVersion(): Promise<string> {
    return this.host.ortVersion();
  }

  close(): void {
    this.host.close();
  }
}
