import fs from 'node:fs';
import path from 'node:path';
import { ReportData } from '../../common/api/reports.js';
import { TureenError } from '../../common/errors.js';
import { writeAll, writeFilesAtomically } from '../../core/checkpoints/atomic.js';
import { findChromium } from '../../core/reports/chromium.js';
import { renderReportPdf } from '../../core/reports/render-pdf.js';
import { assertRendererBuilt, rendererDir } from '../../core/renderer-files.js';
import { isWithin } from '../../core/within.js';
import type { Command } from '../command.js';
import { flag, stringOption } from '../command.js';

/** The folder a report is about: the folder given, a file's folder, or the common folder of several. */
export function reportFolder(inputs: readonly string[]): string {
  const folders = inputs.map((input) => {
    const absolute = path.resolve(input);
    if (!fs.existsSync(absolute))
      throw new TureenError('not_found', `${absolute} does not exist; check the path`);
    return fs.statSync(absolute).isDirectory() ? absolute : path.dirname(absolute);
  });
  let common = folders[0]!;
  for (const folder of folders.slice(1)) {
    while (!isWithin(common, folder)) common = path.dirname(common);
  }
  return fs.realpathSync(common);
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'evaluate and cook what is missing, then save the comparison, recipes and charts as a PDF',
  help: `Usage: tureen report <file-or-dir>... --out report.pdf [--paper A4|Letter] [--logit] [--learned-budget 48] [--json]

Makes the report of one kitchen: the folder given (a file stands for its folder; several paths for their
common folder), registered as a kitchen if it is not one yet. Whatever the report needs that is not stored
yet is evaluated and cooked first, reusing cached logits: the comparison (every ingredient, soups,
ensembles), the greedy soup's prefixes, a WiSE-FT interpolation from the base to the best single model, the
scan (hashes, hyperparameters) and the task-vector similarity. Progress goes to stderr.
The PDF is the app's Report view printed by a system Chrome or Chromium: TUREEN_CHROMIUM, else the usual
install paths (Debian/Ubuntu: apt-get install -y chromium).
  --out FILE           where to write the PDF (required)
  --paper A4|Letter    paper size (default A4)
  --learned-budget N   held-out evaluations for the learned soup when the comparison is run (0 leaves it out)
  --logit              accuracy axes on a logit scale (as in WiSE-FT)`,
  options: {
    out: { type: 'string' },
    paper: { type: 'string', default: 'A4' },
    'learned-budget': { type: 'string' },
    logit: { type: 'boolean', default: false },
  },
  async run(args, ctx) {
    if (args.positionals.length === 0) {
      throw new TureenError(
        'bad_request',
        'give the kitchen folder (or its files): tureen report <dir> --out report.pdf',
      );
    }
    const out = stringOption(args, 'out');
    if (!out)
      throw new TureenError(
        'bad_request',
        '--out is required: where to write the PDF (e.g. --out report.pdf)',
      );
    const paper = stringOption(args, 'paper') ?? 'A4';
    if (paper !== 'A4' && paper !== 'Letter')
      throw new TureenError('bad_request', `--paper must be A4 or Letter, got ${paper}`);
    const budgetText = stringOption(args, 'learned-budget');
    const learnedBudget = budgetText === undefined ? undefined : Number(budgetText);
    if (learnedBudget !== undefined && !(Number.isInteger(learnedBudget) && learnedBudget >= 0)) {
      throw new TureenError('bad_request', `--learned-budget must be a whole number ≥ 0, got ${budgetText}`);
    }
    const folder = reportFolder(args.positionals);
    const target = path.resolve(out);
    // Fail before any evaluation when the PDF could not be printed anyway.
    const chromium = findChromium();
    const staticDir = rendererDir();
    assertRendererBuilt(staticDir);

    const kitchen = ctx.kitchen();
    let registered = (await kitchen.call('kitchens:list', {})).kitchens.find((k) => k.path === folder);
    if (!registered) {
      registered = await kitchen.call('kitchens:register', { path: folder });
      ctx.note(`registered ${folder} as kitchen "${registered.name}"`);
    }
    const report = ReportData.parse(
      await kitchen.run('reports:prepare', {
        kitchenId: registered.id,
        ...(learnedBudget !== undefined ? { learnedBudget } : {}),
      }),
    );
    ctx.note('rendering the PDF');
    const { pdf, pages, consoleErrors } = await renderReportPdf({
      invoke: (channel, payload) => kitchen.invoke(channel, payload),
      staticDir,
      kitchenId: registered.id,
      paper,
      logit: flag(args, 'logit'),
      chromium,
    });
    for (const line of consoleErrors) ctx.note(`report page: ${line}`);
    writeFilesAtomically([{ path: target, write: (fd) => writeAll(fd, pdf) }]);
    return {
      json: {
        schema: 'tureen/report@1',
        path: target,
        pages,
        bytes: pdf.length,
        paper,
        logit: flag(args, 'logit'),
        kitchen: { id: registered.id, path: registered.path, name: registered.name },
        compareId: report.compare?.id ?? null,
        recipes: report.recipes.map((r) => ({ id: r.recipeId, method: r.recipe.method })),
        missing: report.missing,
      },
      human: [
        `${target} (${pages} page${pages === 1 ? '' : 's'})`,
        ...report.missing.map((line) => `not in the report: ${line}`),
      ].join('\n'),
    };
  },
};
