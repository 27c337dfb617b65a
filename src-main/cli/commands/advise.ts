import path from 'node:path';
import type { z } from 'zod';
import type { Advice } from '../../common/api/advisor.js';
import { TureenError } from '../../common/errors.js';
import type { Command, ParsedArgs } from '../command.js';
import { listOption, stringOption } from '../command.js';
import { INFERENCE_HELP, inferenceOptions, inferenceRequest, textTable } from './eval.js';
import { FAMILY_HELP, familyOptions, familyRequest } from './family-options.js';

type AdviceDoc = z.output<typeof Advice>;

const pct = (x: number) => (100 * x).toFixed(2);
const pts = (x: number | null) => (x === null ? '—' : (100 * x).toFixed(1));

/** Wrap a paragraph at `width` columns, indented. */
function wrap(text: string, width = 100, indent = '  '): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width - indent.length) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

/** The short report: verdict, runs by held-out accuracy, outliers with reasons, lineage, greedy steps. */
export function adviceText(advice: AdviceDoc): string {
  const labelOf = new Map(advice.ingredients.map((i) => [i.path, i.label]));
  const runs = [...advice.ingredients].sort((a, b) => b.holdout_correct - a.holdout_correct);
  const distanceHeader = advice.base ? '‖θ − θ_base‖' : 'median distance';
  const lines = [
    `Advice on ${advice.ingredients.length} runs, held-out set ${advice.holdout.name} (${advice.holdout.n} images)${advice.base ? `, base ${advice.base}` : ', no base (weight-space distances)'}`,
    '',
    'Verdict:',
    wrap(advice.verdict),
    '',
    textTable(
      ['run', 'held-out top-1 %', distanceHeader, 'mean barrier (points)', 'lineage group', 'outlier'],
      runs.map((r) => [
        r.label,
        pct(r.holdout_top1),
        (r.task_vector_norm ?? r.median_distance).toPrecision(4),
        pts(r.mean_barrier),
        String(r.group + 1),
        r.outlier ? 'yes' : '',
      ]),
    ),
  ];
  const outliers = advice.ingredients.filter((i) => i.outlier);
  lines.push(
    '',
    outliers.length
      ? 'Outliers (median and MAD rule, |z| > 3.5):'
      : 'No outliers (median and MAD rule, |z| > 3.5).',
  );
  for (const o of outliers) lines.push(wrap(`${o.reasons.join('; ')}.`, 100, '  '));
  lines.push(
    '',
    advice.lineage.groups.length > 1
      ? `Lineage: ${advice.lineage.groups.length} groups`
      : `Lineage: one group (every run shares ${advice.base ? 'the base' : 'one starting point'})`,
  );
  for (const note of advice.lineage.notes) lines.push(wrap(note));
  const o = advice.outlook;
  lines.push(
    '',
    `Outlook on ${advice.holdout.name} (top-1 %): best single ${pct(o.best_single.top1)} (${labelOf.get(o.best_single.path)}), ` +
      `logit ensemble ${pct(o.ensemble_top1)}${o.ensemble_without_outliers_top1 !== null ? ` (${pct(o.ensemble_without_outliers_top1)} without outliers)` : ''}, ` +
      `uniform soup ${pct(o.uniform_top1)}${o.uniform_without_outliers_top1 !== null ? ` (${pct(o.uniform_without_outliers_top1)} without outliers)` : ''}` +
      `${o.median_barrier !== null ? `; median barrier ${pts(o.median_barrier)} points` : ''}`,
    `Pairs: ${advice.pairs.length} midpoints${advice.pairs_limit !== null ? ` among the ${advice.pairs_limit} best runs` : ''}`,
  );
  if (advice.greedy) {
    lines.push('', `Greedy soup: kept ${advice.greedy.size} of ${advice.ingredients.length}`);
    lines.push(
      textTable(
        ['step', 'candidate', 'decision'],
        advice.greedy.steps.map((s) => [
          String(s.step),
          labelOf.get(s.candidate) ?? s.candidate,
          s.explanation,
        ]),
      ),
    );
  }
  for (const w of advice.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

/** `--points 0.25 0.5 0.75` or `--points 0.25,0.5,0.75`: α values strictly between 0 and 1. */
function alphaGrid(args: ParsedArgs): number[] | undefined {
  const texts = listOption(args, 'points')
    .flatMap((v) => v.split(','))
    .filter((v) => v.trim() !== '');
  if (texts.length === 0) return undefined;
  return texts.map((t) => {
    const value = Number(t);
    if (!Number.isFinite(value) || value <= 0 || value >= 1)
      throw new TureenError('bad_request', `--points takes α values strictly between 0 and 1, got ${t}`);
    return value;
  });
}

export const adviseCommand: Command = {
  name: 'advise',
  summary:
    'is this sweep soupable? lineage, pairwise barriers, outliers with reasons, greedy-step significance',
  help: `Usage: tureen advise <folder-or-files>... --holdout <evalset> [--base FILE] [--graph FILE] [--pairs K] [--points α...] [--no-greedy] [--family N] [--ema] [--json]

Diagnoses a sweep before cooking and explains a small greedy soup after it:
- lineage: task-vector norms and cosines against the base (without a base, weight-space distances), and
  groups of runs that share a starting point (centred weight correlation ≥ 0.2); runs that did not start
  from the base form their own group and are named;
- barriers: held-out top-1 of the midpoint ½θ_a + ½θ_b of every pair, and mean of the ends minus it
  (N(N − 1)/2 evaluations, cached);
- outliers: runs whose distance from the base, mean barrier or held-out accuracy is more than 3.5 robust
  standard deviations (1.4826 · MAD) from the median run, each with the reason in words;
- outlook: the logit ensemble from cached logits, the uniform soup with and without the outliers, a verdict;
- the greedy soup's steps, each with the held-out images it changed and the exact McNemar p-value.
Without --holdout, the eval set with role holdout in the folders is used.
  --base FILE        the pretrained checkpoint (default: found by folder name base/pretrained/zeroshot)
  --graph FILE       the ONNX graph for state dicts (default: graph.onnx beside them or in a parent folder)
  --pairs K          only pairs among the K best runs by held-out accuracy (K(K − 1)/2 midpoints)
  --points α...      a finer path: evaluate (1 − α)·θ_a + α·θ_b at these α too (0 < α < 1)
  --no-greedy        skip the greedy soup and its step tests
${FAMILY_HELP}
${INFERENCE_HELP}`,
  options: {
    holdout: { type: 'string' },
    base: { type: 'string' },
    graph: { type: 'string' },
    pairs: { type: 'string' },
    points: { type: 'string', multiple: true },
    'no-greedy': { type: 'boolean' },
    ...familyOptions,
    ...inferenceOptions,
  },
  async run(args, ctx) {
    if (args.positionals.length === 0)
      throw new TureenError('bad_request', 'advise needs a folder of checkpoints (or two or more files)');
    const holdout = stringOption(args, 'holdout');
    const base = stringOption(args, 'base');
    const graph = stringOption(args, 'graph');
    const pairsText = stringOption(args, 'pairs');
    const pairs = pairsText === undefined ? undefined : Number(pairsText);
    if (pairs !== undefined && (!Number.isInteger(pairs) || pairs < 2))
      throw new TureenError('bad_request', `--pairs must be an integer of at least 2, got ${pairsText}`);
    const points = alphaGrid(args);
    const advice = await ctx.kitchen().run('advisor:run', {
      ingredients: args.positionals.map((p) => path.resolve(p)),
      ...(holdout ? { holdout: path.resolve(holdout) } : {}),
      ...(base ? { base: path.resolve(base) } : {}),
      ...(graph ? { graph: path.resolve(graph) } : {}),
      ...(pairs !== undefined ? { pairs } : {}),
      ...(points ? { points } : {}),
      ...(args.values['no-greedy'] === true ? { greedy: false } : {}),
      ...familyRequest(args),
      ...inferenceRequest(args),
    });
    const { createdAt, ...rest } = advice;
    return { json: { schema: 'tureen/advise@1', ...rest, created: createdAt }, human: adviceText(advice) };
  },
};
