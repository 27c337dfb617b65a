import type { z } from 'zod';
import type { GreedyStep } from '../../common/api/recipes.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { EventBus } from '../events.js';
import type { EngineEvaluation, EvaluationEngine, RunSettings } from '../inference/engine.js';
import type { JobContext } from '../jobs.js';
import type { IdentifiedModel } from './soup-models.js';

/**
 * Evaluations of one recipe or comparison: one engine, one provider/batch setting for all, and one
 * progress bar in images over the whole plan (the plan grows when a step adds work).
 */
export class RecipeRunner {
  private done = 0;
  private total = 0;

  constructor(
    readonly engine: EvaluationEngine,
    readonly settings: RunSettings,
    readonly job: JobContext | null,
    private readonly events: EventBus | null = null,
  ) {}

  /** Publish a finished greedy step (`recipes:step`) so a live table need not wait for the recipe. */
  greedyStep(step: z.output<typeof GreedyStep>): void {
    if (!this.job || !this.events) return;
    this.events.emit('recipes:step', { jobId: this.job.jobId, ...step });
  }

  get signal(): AbortSignal | undefined {
    return this.job?.signal;
  }

  private frozen = false;

  /** Announce work still to come, in images (ignored after planAll). */
  plan(images: number): void {
    if (!this.frozen) this.total += images;
  }

  /** The whole plan up front, when the caller knows it: the progress bar then never jumps back. */
  planAll(images: number): void {
    this.total = images;
    this.frozen = true;
  }

  throwIfCancelled(): void {
    this.job?.throwIfCancelled();
  }

  /** Let the inference host drop a model this run no longer needs (a rejected candidate, a grid point). */
  release(model: IdentifiedModel): void {
    this.engine.release(model.hash);
  }

  /** The ONNX Runtime version results are recorded with. */
  ortVersion(): Promise<string> {
    return this.engine.ortVersion();
  }

  async evaluate(model: IdentifiedModel, set: EvalSet, message: string): Promise<EngineEvaluation> {
    if (this.done + set.n > this.total) this.total = this.done + set.n;
    const result = await this.engine.evaluate(
      model,
      set,
      this.settings,
      this.job ? { ctx: this.job, base: this.done, total: this.total, message } : undefined,
    );
    this.done += set.n;
    return result;
  }
}
