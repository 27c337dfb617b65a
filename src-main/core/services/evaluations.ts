import { TureenError } from '../../common/errors.js';
import { loadEvalSetAsync } from '../datasets/registry.js';
import { listEvaluations } from '../store/evaluation-store.js';
import { correctness } from '../inference/metrics.js';
import { bootstrapTop1, mcnemarExact } from '../inference/stats.js';
import { openFamily } from '../checkpoints/open-family.js';
import type { OpenedFamily } from '../checkpoints/open-family.js';
import { RecipeRunner } from '../recipes/runner.js';
import { SoupModels } from '../recipes/soup-models.js';
import type { Evaluation } from '../store/evaluation-store.js';
import type { Handlers, ServiceContext } from '../service.js';
import { checkCacheFolder, checkReadable, familyPickFor } from './kitchens.js';

export function evaluationHandlers(
  ctx: ServiceContext,
): Handlers<
  | 'evaluations:run'
  | 'evaluations:matrix'
  | 'evaluations:significance'
  | 'evaluations:cacheUsage'
  | 'evaluations:setCacheDir'
  | 'evaluations:pruneCache'
> {
  return {
    'evaluations:run': async (req) => {
      const engine = ctx.engine;
      const settings = engine.settings(req);
      const models = req.models.map((m) => checkReadable(ctx, m));
      // read asynchronously: hashing a multi-GB set must not hold the serving thread
      const sets = await Promise.all(req.evalsets.map((s) => loadEvalSetAsync(checkReadable(ctx, s))));
      const jobId = ctx.jobs.start(
        'evaluate',
        `Evaluate ${models.length} model(s) on ${sets.length} eval set(s)`,
        async (job) => {
          const runner = new RecipeRunner(engine, settings, job);
          const evaluations: Evaluation[] = [];
          // Each model is opened on its own: eval accepts checkpoints of different families. All are opened
          // (structure only) before the first evaluation, so the progress bar knows the whole job up front.
          const sweeps: OpenedFamily[] = [];
          for (const input of models)
            sweeps.push(await openFamily([input], { db: ctx.db, ...familyPickFor(ctx, req, [input]) }));
          const ingredientsOf = (sweep: OpenedFamily) => [
            ...(sweep.base ? [sweep.base] : []),
            ...sweep.members,
          ];
          const images = sets.reduce((a, s) => a + s.n, 0);
          runner.planAll(sweeps.reduce((a, sweep) => a + ingredientsOf(sweep).length, 0) * images);
          for (const sweep of sweeps) {
            const soupModels = await SoupModels.create(sweep);
            for (const ingredient of ingredientsOf(sweep)) {
              const model = await soupModels.ingredientModel(ingredient, job.signal);
              for (const set of sets) {
                evaluations.push(
                  (await runner.evaluate(model, set, `${sweep.relative(ingredient.path)} on ${set.name}`))
                    .record,
                );
              }
            }
          }
          return { evaluations, notes: settings.notes };
        },
      );
      return { jobId };
    },
    'evaluations:matrix': (req) => ({
      evaluations: listEvaluations(ctx.db, {
        ...(req.models ? { models: req.models } : {}),
        ...(req.evalsets ? { evalsets: req.evalsets } : {}),
      }),
    }),
    'evaluations:significance': async (req) => {
      const engine = ctx.engine;
      const set = await loadEvalSetAsync(checkReadable(ctx, req.evalset));
      const ortVersion = await engine.ortVersion();
      const logitsOf = (model: string) => {
        const row = listEvaluations(ctx.db, { evalsets: [set.file] }).find(
          (e) => e.model.path === model || e.model.hash === model,
        );
        const logits = row
          ? engine.cache.get({
              modelHash: row.model.hash,
              evalsetHash: set.hash,
              provider: row.provider,
              ortVersion,
            })
          : null;
        if (!logits) {
          throw new TureenError(
            'not_found',
            `${model} has no cached logits on ${set.name}; evaluate it first (evaluations:run)`,
            { model, evalset: set.file },
          );
        }
        return logits;
      };
      const a = correctness(logitsOf(req.modelA), set.labels);
      const b = correctness(logitsOf(req.modelB), set.labels);
      const test = mcnemarExact(a, b);
      const interval = (c: Uint8Array) => {
        const ci = bootstrapTop1(c);
        return { value: c.reduce((s, v) => s + v, 0) / c.length, low: ci.low, high: ci.high };
      };
      return {
        n: set.n,
        onlyA: test.onlyA,
        onlyB: test.onlyB,
        p: test.p,
        top1A: interval(a),
        top1B: interval(b),
      };
    },
    'evaluations:cacheUsage': () => ctx.engine.cache.usage(),
    'evaluations:setCacheDir': (req) => {
      const engine = ctx.engine;
      engine.setCacheDir(req.dir === null ? null : checkCacheFolder(ctx, req.dir));
      return engine.cache.usage();
    },
    'evaluations:pruneCache': (req) => ctx.engine.cache.prune(req.maxBytes),
  };
}
