import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import type { Command } from '../command.js';
import { DATA_IMPORT_HELP, dataImportOptions, runDataImport } from './data-import.js';

export const dataCommand: Command = {
  name: 'data',
  summary: 'inspect eval sets, import image folders (data inspect <file>, data import <folder>)',
  help: `Usage: tureen data inspect <evalset.safetensors>... [--json]

Prints N, the inputs (name, dtype, shape), the label histogram, the role (set in the app, else
tureen.role), the transform and the class subset of each eval set.

${DATA_IMPORT_HELP}`,
  options: dataImportOptions,
  async run(args, ctx) {
    const [verb, ...files] = args.positionals;
    if (verb === 'import') return runDataImport({ ...args, positionals: files }, ctx);
    if (verb !== 'inspect')
      throw new TureenError(
        'bad_request',
        `data needs a verb: tureen data inspect <file> or tureen data import <folder>${verb ? ` (got "${verb}")` : ''}`,
      );
    if (files.length === 0)
      throw new TureenError('bad_request', 'data inspect needs at least one eval-set file');
    const kitchen = ctx.kitchen();
    const sets = [];
    for (const file of files) sets.push(await kitchen.call('evalsets:inspect', { path: path.resolve(file) }));
    const human = sets
      .map((s) =>
        [
          `${s.name}  (${s.path})`,
          `  N          ${s.n}`,
          `  role       ${s.role ?? 'none'}${s.roleSource ? ` (from the ${s.roleSource})` : ''}`,
          ...s.inputs.map((i) => `  input      ${i.name}: ${i.dtype} [${i.shape.join(', ')}]`),
          `  transform  ${Object.keys(s.transform).length ? JSON.stringify(s.transform) : 'none'}`,
          `  subset     ${s.classSubset ? JSON.stringify(s.classSubset) : 'none'}`,
          `  labels     ${s.labelHistogram.map((c, i) => `${i}:${c}`).join(' ')}`,
          `  sha256     ${s.hash}`,
        ].join('\n'),
      )
      .join('\n\n');
    return { json: { schema: 'tureen/data@1', evalsets: sets }, human };
  },
};
