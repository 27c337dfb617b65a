import { advise } from '../advisor/advise.js';
import { latestAdvice, saveAdvice } from '../advisor/store.js';
import { RecipeRunner } from '../recipes/runner.js';
import type { Handlers, ServiceContext } from '../service.js';
import { checkReadable, familyPickFor } from './kitchens.js';

export function advisorHandlers(ctx: ServiceContext): Handlers<'advisor:run' | 'advisor:latest'> {
  return {
    'advisor:run': (req) => {
      const engine = ctx.engine;
      const settings = engine.settings(req);
      const ingredients = req.ingredients.map((p) => checkReadable(ctx, p));
      const holdout = req.holdout ? checkReadable(ctx, req.holdout) : undefined;
      const base = req.base ? checkReadable(ctx, req.base) : undefined;
      const graph = req.graph ? checkReadable(ctx, req.graph) : undefined;
      const jobId = ctx.jobs.start('advise', `Advise on ${ingredients.join(', ')}`, async (job) => {
        const advice = await advise(ctx.db, new RecipeRunner(engine, settings, job, ctx.events), {
          ingredients,
          holdout,
          base,
          pairs: req.pairs,
          points: req.points,
          greedy: req.greedy,
          graph,
          ...familyPickFor(ctx, req, ingredients),
        });
        saveAdvice(ctx.paths.dataDir, advice);
        return advice;
      });
      return { jobId };
    },
    'advisor:latest': (req) => latestAdvice(ctx.paths.dataDir, checkReadable(ctx, req.folder)),
  };
}
