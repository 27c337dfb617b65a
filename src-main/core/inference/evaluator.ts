import type { EvalSet } from '../datasets/evalset.js';
import { labelProblems, validateEvalSet } from '../datasets/validate.js';
import { TureenError } from '../../common/errors.js';
import type { InferenceHost } from './host.js';
import type { LogitsCache } from './logits-cache.js';
import type { Logits, Metrics } from './metrics.js';
import { computeMetrics } from './metrics.js';
import type { ModelSource } from './protocol.js';

/** A model to evaluate: identified by its weights hash; its source is built only when inference is needed. */
export interface EvalModel {
  /** weights hash (sha256 of the file, or of a soup's weights plus its graph) */
  hash: string;
  label: string;
  path: string | null;
  source: () => ModelSource | Promise<ModelSource>;
}

export interface EvalOptions {
  provider: string;
  threads: number | null;
  batchSize: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalOutcome {
  logits: Logits;
  metrics: Metrics;
  provider: string;
  fallbackReason: string | null;
  ortVersion: string;
  batchSize: number;
  /** wall time of inference (0 when the logits came from the cache) */
  durationMs: number;
  cached: boolean;
}

/** Evaluates (model, eval set) pairs through the inference host, reading and filling the logits cache. */
export class Evaluator {
  constructor(
    readonly host: InferenceHost,
    readonly cache: LogitsCache,
  ) {}

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every earlier exclusive section has settled (the host runs one request at a time anyway). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async evaluate(model: EvalModel, set: EvalSet, options: EvalOptions): Promise<EvalOutcome> {
    const ortVersion = await this.host.ortVersion();
    const key = { modelHash: model.hash, evalsetHash: set.hash, provider: options.provider, ortVersion };
    const hit = this.cache.get(key);
    if (hit && hit.n === set.n) {
      const problems = labelProblems(set, hit.classes);
      if (problems.length)
        throw new TureenError(
          'bad_evalset',
          `eval set ${set.file} does not fit ${model.label}: ${problems.join('; ')}`,
        );
      options.onProgress?.(set.n, set.n);
      return {
        logits: hit,
        metrics: computeMetrics(hit, set.labels, set.classSubset),
        provider: options.provider,
        fallbackReason: null,
        ortVersion,
        batchSize: options.batchSize,
        durationMs: 0,
        cached: true,
      };
    }
    const source = await model.source();
    // Load and run as one step: another job's loads in between could evict this session.
    const { loaded, run } = await this.exclusive(async () => {
      try {
        return await this.loadAndRun(model, source, set, options);
      } catch (error) {
        throw namedFailure(error, model, set);
      }
    });
    const logits: Logits = { n: run.n, classes: run.classes, data: run.logits };
    const problems = labelProblems(set, run.classes);
    if (problems.length)
      throw new TureenError(
        'bad_evalset',
        `eval set ${set.file} does not fit ${model.label}: ${problems.join('; ')}`,
      );
    // Logits are cached under the provider actually used, so a fallback to cpu is not mistaken for cuda.
    this.cache.put({ ...key, provider: loaded.provider }, logits);
    return {
      logits,
      metrics: computeMetrics(logits, set.labels, set.classSubset),
      provider: loaded.provider,
      fallbackReason: loaded.fallbackReason,
      ortVersion,
      batchSize: options.batchSize,
      durationMs: run.durationMs,
      cached: false,
    };
  }

  /** Load the model and run it over the eval set (inside one exclusive section). */
  private async loadAndRun(model: EvalModel, source: ModelSource, set: EvalSet, options: EvalOptions) {
    if (options.signal?.aborted) throw new TureenError('cancelled', 'evaluation cancelled');
    const loaded = await this.host.load(model.hash, source, options.provider, options.threads, {
      signal: options.signal,
    });
    const output = loaded.outputs[0];
    const last = output?.shape[output.shape.length - 1];
    validateEvalSet(
      set,
      { inputs: loaded.inputs, classes: typeof last === 'number' && last > 0 ? last : null },
      model.label,
    );
    const run = await this.host.evaluate(
      model.hash,
      { file: set.file, hash: set.hash, stamp: set.stamp },
      options.batchSize,
      {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
    return { loaded, run };
  }
}

/**
 * onnxruntime's own failure while running ("indices element out of data bounds", a rank mismatch) names
 * a node, not the file: say which model on which eval set, and what to check.
 */
function namedFailure(error: unknown, model: EvalModel, set: EvalSet): unknown {
  if (!(error instanceof TureenError) || error.code !== 'inference_failed') return error;
  const name = model.path ?? model.label;
  if (error.message.includes(name)) return error;
  return new TureenError(
    'inference_failed',
    `${name} on ${set.file}: onnxruntime could not run the model: ${error.message}. The model's graph may be damaged or not made for this eval set's inputs; \`tureen scan\` checks the file.`,
    error.detail,
  );
}
