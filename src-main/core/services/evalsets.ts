import fs from 'node:fs';
import path from 'node:path';
import { importImageFolder } from '../datasets/import/import.js';
import { findLeakageAsync } from '../datasets/leakage.js';
import type { RoledEvalSet } from '../datasets/registry.js';
import { discover } from '../checkpoints/discover.js';
import { loadEvalSetAsync, summarize, withRole } from '../datasets/registry.js';
import { setAppRole } from '../store/evalset-store.js';
import type { Handlers, ServiceContext } from '../service.js';
import { checkReadable, checkWritable, listKitchens } from './kitchens.js';

export function evalsetHandlers(
  ctx: ServiceContext,
): Handlers<'evalsets:list' | 'evalsets:inspect' | 'evalsets:setRole' | 'evalsets:import'> {
  return {
    // Eval sets are read asynchronously here: hashing a multi-GB set must not hold the serving thread.
    'evalsets:list': async (req) => {
      const folders = req.folder ? [checkReadable(ctx, req.folder)] : listKitchens(ctx).map((k) => k.path);
      const roled: RoledEvalSet[] = [];
      for (const file of folders.filter((f) => fs.existsSync(f)).flatMap((f) => discover(f).evalSets))
        roled.push(withRole(ctx.db, await loadEvalSetAsync(file)));
      const leakage = [];
      for (const h of roled.filter((r) => r.role === 'holdout'))
        leakage.push(
          ...(await findLeakageAsync(
            h.set,
            roled
              .filter((r) => r.role === 'id' || r.role === 'shift')
              .map((r) => ({ set: r.set, role: r.role! })),
          )),
        );
      return { evalsets: roled.map(summarize), leakage };
    },
    'evalsets:inspect': async (req) =>
      summarize(withRole(ctx.db, await loadEvalSetAsync(checkReadable(ctx, req.path)))),
    'evalsets:setRole': async (req) => {
      const set = await loadEvalSetAsync(checkReadable(ctx, req.path));
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
