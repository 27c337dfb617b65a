import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { FAMILY_HELP, familyOptions, familyRequest } from './family-options.js';

function matrixLines(title: string, labels: string[], m: number[][], digits: number): string[] {
  const width = Math.max(8, digits + 4);
  return [
    title,
    `${''.padEnd(4)}${labels.map((_, i) => `#${i + 1}`.padStart(width)).join('')}`,
    ...m.map(
      (row, i) => `${`#${i + 1}`.padEnd(4)}${row.map((v) => v.toFixed(digits).padStart(width)).join('')}`,
    ),
  ];
}

export const similarityCommand: Command = {
  name: 'similarity',
  summary: 'pairwise cosine, angle and L2 of task vectors',
  help: `Usage: tureen similarity <file-or-dir>... [--base FILE] [--graph FILE] [--json]

Task vectors are θ_i − θ_base. Without --base the weights themselves are compared (and said so).
Prints the cosine similarity, the angle in degrees and the L2 distance for every pair.
${FAMILY_HELP}`,
  options: { base: { type: 'string' }, graph: { type: 'string' }, ...familyOptions },
  async run(args, ctx) {
    if (args.positionals.length === 0)
      throw new TureenError('bad_request', 'similarity needs checkpoint files or folders');
    const base = stringOption(args, 'base');
    const graph = stringOption(args, 'graph');
    const result = await ctx.kitchen().run('checkpoints:similarity', {
      ingredients: args.positionals.map((p) => path.resolve(p)),
      ...(base ? { base: path.resolve(base) } : {}),
      ...(graph ? { graph: path.resolve(graph) } : {}),
      ...familyRequest(args),
    });
    const labels = result.paths.map((p) => path.relative(process.cwd(), p) || p);
    const human = [
      result.taskVectors
        ? `Task vectors against the base ${result.base} (${result.parameters} parameters):`
        : `No --base: comparing the weights themselves, not task vectors (${result.parameters} parameters):`,
      ...labels.map((l, i) => `  #${i + 1} ${l}  (‖v‖ = ${result.norms[i]!.toPrecision(6)})`),
      ...matrixLines('cosine similarity', labels, result.cosine, 4),
      ...matrixLines('angle (degrees)', labels, result.angleDegrees, 2),
      ...matrixLines('L2 distance', labels, result.l2, 4),
      ...result.warnings.map((w) => `warning: ${w}`),
    ];
    return { json: { schema: 'tureen/similarity@1', ...result }, human: human.join('\n') };
  },
};
