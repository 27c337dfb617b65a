import fs from 'node:fs';
import path from 'node:path';
import { importImageFolder } from '../datasets/import/import.js';
import { findLeakage } from '../datasets/leakage.js';
import type { RoledEvalSet } from '../datasets/registry.js';
import { discover } from '../checkpoints/discover.js';
import { loadEvalSet, summarize, withRole } from '../datasets/registry.js';
import { setAppRole } from '../store/evalset-store.js';
import type { Handlers, ServiceContext } from '../service.js';
import { checkReadable, checkWritable, listKitchens } from './kitchens.js';

export function evalsetHandlers(
  ctx: ServiceContext,
): Handlers<'evalsets:list' | 'evalsets:inspect' | 'evalsets:setRole' | 'evalsets:import'> {
  return {
    'evalsets:list': (req) => {
      const folders = req.folder ? [checkReadable(ctx, req.folder)] : listKitchens(ctx).map((k) => k.path);
      const roled: RoledEvalSet[] = folders
        .filter((f) => fs.existsSync(f))
        .flatMap((f) => discover(f).evalSets)
        .map((file) => withRole(ctx.db, loadEvalSet(file)));
      const leakage = roled
        .filter((r) => r.role === 'holdout')
        .flatMap((h) =>
          findLeakage(
            h.set,
            roled
              .filter((r) => r.role === 'id' || r.role === 'shift')
              .map((r) => ({ set: r.set, role: r.role! })),
          ),
        );
      return { evalsets: roled.map(summarize), leakage };
    },
    'evalsets:inspect': (req) => summarize(withRole(ctx.db, loadEvalSet(checkReadable(ctx, req.path)))),
    'evalsets:setRole': (req) => {
      const set = loadEvalSet(checkReadable(ctx, req.path));
      setAppRole(ctx.db, set.file, req.role);
      return summarize(withRole(ctx.db, set));
    },
    'evalsets:import': (req) => {
      const folder = checkReadable(ctx, req.folder);
      for (const file of [req.classes, req.preprocess]) if (file) checkReadable(ctx, file);
      const out = checkWritable(ctx, req.out);
      const jobId = ctx.jobs.start('evalsets:import', `Import ${path.basename(folder)}`, (job) =>
        importImageFolder(
          { ...req, folder, out },
          {
            signal: job.signal,
            progress: (p) =>
              job.progress({
                done: p.done,
                total: p.total,
                unit: 'images',
                message: p.skipped ? `${p.skipped} skipped` : '',
              }),
          },
        ),
      );
      return { jobId };
    },
  };
}
