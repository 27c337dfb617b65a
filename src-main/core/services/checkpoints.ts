import path from 'node:path';
import { replayRecipe, similarityOf } from '../checkpoints/cook.js';
import { listCheckpoints, listFamilies, scanFolder } from '../checkpoints/scan.js';
import { isMergeRecipe, replayMergeRecipe } from '../recipes/merge-replay.js';
import type { JobContext } from '../jobs.js';
import type { Handlers, ServiceContext } from '../service.js';
import { checkReadable, checkRecipeReplay, checkWritable, familyPickFor, listKitchens } from './kitchens.js';

type CheckpointChannels =
  | 'checkpoints:scan'
  | 'checkpoints:list'
  | 'checkpoints:families'
  | 'checkpoints:replay'
  | 'checkpoints:similarity';

/** Serve mode reads only what the user registered and writes only there or into the data folder. */
function allowed(
  ctx: ServiceContext,
  files: readonly (string | undefined)[],
  outputs: readonly string[] = [],
): void {
  for (const f of files) if (f !== undefined) checkReadable(ctx, f);
  for (const f of outputs) checkWritable(ctx, f);
}

function engine(ctx: ServiceContext, job: JobContext, unit = 'checkpoints') {
  return {
    db: ctx.db,
    signal: job.signal,
    progress: (done: number, total: number, message: string) => job.progress({ done, total, unit, message }),
  };
}

export function checkpointHandlers(ctx: ServiceContext): Handlers<CheckpointChannels> {
  return {
    'checkpoints:scan': (req) => {
      const targets: Array<{ root: string; kitchenId: number | null }> = [];
      const kitchens = listKitchens(ctx);
      if (req.paths?.length) {
        allowed(ctx, req.paths);
        for (const p of req.paths) {
          const root = path.resolve(p);
          targets.push({ root, kitchenId: kitchens.find((k) => k.path === root)?.id ?? null });
        }
      } else {
        for (const k of kitchens)
          if (req.kitchenId === undefined || k.id === req.kitchenId)
            targets.push({ root: k.path, kitchenId: k.id });
      }
      const title = `Scan ${targets.map((t) => path.basename(t.root)).join(', ') || 'kitchens'}`;
      const jobId = ctx.jobs.start('scan', title, async (job) => {
        const scans = [];
        for (const t of targets) {
          scans.push(await scanFolder(ctx.db, t.root, { kitchenId: t.kitchenId, ...engine(ctx, job) }));
          ctx.events.emit('checkpoints:changed', { root: t.root, kitchenId: t.kitchenId });
        }
        return { scans };
      });
      return { jobId };
    },
    'checkpoints:list': (req) => ({ checkpoints: listCheckpoints(ctx.db, req) }),
    'checkpoints:families': (req) => listFamilies(ctx.db, req),
    'checkpoints:replay': (req) => {
      allowed(ctx, [req.recipe, req.graph], req.outputs ?? []);
      checkRecipeReplay(ctx, req.recipe, req.outputs);
      // merge recipes (task arithmetic, TIES, ...) replay their method; soups replay their coefficients
      const replay = isMergeRecipe(req.recipe) ? replayMergeRecipe : replayRecipe;
      const jobId = ctx.jobs.start('cook', `Replay ${path.basename(req.recipe)}`, (job) =>
        replay(
          req.recipe,
          { ...(req.outputs ? { outputs: req.outputs } : {}), ...(req.graph ? { graph: req.graph } : {}) },
          engine(ctx, job, 'ingredients'),
        ),
      );
      return { jobId };
    },
    'checkpoints:similarity': (req) => {
      allowed(ctx, [...req.ingredients, req.base, req.graph]);
      const jobId = ctx.jobs.start('similarity', 'Task-vector similarity', (job) =>
        similarityOf(
          req.ingredients,
          {
            ...(req.base ? { base: req.base } : {}),
            ...(req.graph ? { graph: req.graph } : {}),
            ...familyPickFor(ctx, req, req.ingredients),
          },
          engine(ctx, job, 'parameters'),
        ),
      );
      return { jobId };
    },
  };
}
