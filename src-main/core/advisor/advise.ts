import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { Advice } from '../../common/api/advisor.js';
import { TureenError } from '../../common/errors.js';
import { hyperparametersOf } from '../checkpoints/hyperparameters.js';
import type { Ingredient } from '../checkpoints/index.js';
import { similarityMatrix } from '../checkpoints/similarity.js';
import { planEvalSets } from '../datasets/registry.js';
import type { EngineEvaluation } from '../inference/engine.js';
import type { Logits } from '../inference/metrics.js';
import { averageLogits, computeMetrics, correctness, restrictToSubset } from '../inference/metrics.js';
import { greedyOrder, greedySoup } from '../recipes/greedy.js';
import { openFamily } from '../checkpoints/open-family.js';
import { RecipeRunner } from '../recipes/runner.js';
import { SoupModels } from '../recipes/soup-models.js';
import type { EvalSet } from '../datasets/evalset.js';
import { measureBarriers, pairsAmong, pathGrid } from './barriers.js';
import { LINEAGE_THRESHOLD, headTensors, lineageGroups } from './lineage.js';
import { describeRun, formatSetting, learningRate, shortNames } from './names.js';
import { findOutliers } from './outliers.js';
import { OUTLIER_Z, median } from './robust.js';
import { SIGNIFICANCE_LEVEL, testGreedySteps } from './significance.js';
import { verdictText } from './verdict.js';

export type AdviceDoc = z.output<typeof Advice>;

export interface AdviseInput {
  ingredients: readonly string[];
  holdout?: string | undefined;
  base?: string | undefined;
  /** the ONNX graph for state dicts (else graph.onnx beside them or in a parent folder) */
  graph?: string | undefined;
  pairs?: number | undefined;
  points?: readonly number[] | undefined;
  greedy?: boolean | undefined;
  /** which family when the inputs hold several; EMA weights of PyTorch checkpoints */
  family?: string | undefined;
  ema?: boolean | 'prefer' | undefined;
}

/** A runner that keeps every evaluation it ran, so the greedy soup's trial logits can be tested afterwards. */
class RecordingRunner extends RecipeRunner {
  readonly evaluations: EngineEvaluation[] = [];

  override async evaluate(...args: Parameters<RecipeRunner['evaluate']>): Promise<EngineEvaluation> {
    const result = await super.evaluate(...args);
    this.evaluations.push(result);
    return result;
  }
}

function hits(logits: Logits, set: EvalSet): Uint8Array {
  return correctness(restrictToSubset(logits, set.classSubset), set.labels);
}

function correctOf(logits: Logits, set: EvalSet): number {
  return computeMetrics(logits, set.labels, set.classSubset).correct;
}

/**
 * The advisor: lineage (task vectors and centred weight correlations in one streaming pass each), held-out
 * accuracy of every run, the midpoint barrier of every pair (of the k best with `pairs`), outliers by the
 * robust rule, the soup outlook (logit ensembles from the cached logits, uniform soups with and without
 * outliers), the greedy soup with each step's McNemar test, and a verdict. Every evaluation goes through
 * the engine, so it is cached, shows progress and stops on cancel.
 */
export async function advise(db: Database, base: RecipeRunner, input: AdviseInput): Promise<AdviceDoc> {
  const runner = new RecordingRunner(base.engine, base.settings, base.job);
  const job = runner.job;
  const signal = runner.signal;
  const sweep = await openFamily(input.ingredients, {
    db,
    base: input.base ?? null,
    ...(input.graph ? { graph: input.graph } : {}),
    ...(input.family !== undefined ? { family: input.family } : {}),
    ...(input.ema ? { ema: input.ema } : {}),
  });
  const members = sweep.members;
  const n = members.length;
  if (n < 2)
    throw new TureenError(
      'bad_request',
      `the advisor compares runs with each other and needs at least two; found ${n} in ${input.ingredients.join(', ')}`,
    );
  const folders = input.ingredients.filter((p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
  const plan = planEvalSets(db, { folders, holdout: input.holdout, evals: [], requireHoldout: true });
  const holdout = plan.holdout!.set;
  const models = await SoupModels.create(sweep);
  const rels = members.map((m) => sweep.relative(m.path));
  const labels = shortNames(rels);
  const hyper = members.map((m) => hyperparametersOf(m.path, sweep.root).values);
  const who = labels.map((l, i) => describeRun(l, hyper[i]!));

  // Lineage and distances: one pass over the weights (base first), one over the task vectors.
  const progress = (phase: string) => (done: number, total: number) =>
    job?.progress({ done, total, unit: 'parameters', message: phase });
  const withBase: Ingredient[] = sweep.base ? [sweep.base, ...members] : [...members];
  const weights = await similarityMatrix(withBase, null, {
    centred: true,
    onProgress: progress('weight correlations'),
    ...(signal ? { signal } : {}),
  });
  const tasks = sweep.base
    ? await similarityMatrix(members, sweep.base, {
        onProgress: progress('task vectors'),
        ...(signal ? { signal } : {}),
      })
    : null;
  const offset = sweep.base ? 1 : 0;
  const l2 = (i: number, j: number) => weights.l2[i + offset]![j + offset]!;
  const medianDistance = members.map((_, i) =>
    median(members.flatMap((__, j) => (j === i ? [] : [l2(i, j)]))),
  );
  const correlation = weights.centredCorrelation!;
  const lineage = lineageGroups(correlation, sweep.base !== null);

  // Held-out accuracy of every run (cached after the first time), then the plan of the remaining work.
  const grid = pathGrid(input.points);
  const limit = input.pairs !== undefined && input.pairs < n ? input.pairs : null;
  const greedyWanted = input.greedy !== false;
  runner.planAll(holdout.n * n);
  const logits: Logits[] = [];
  for (const [i, m] of members.entries()) {
    const model = await models.ingredientModel(m, signal);
    logits.push((await runner.evaluate(model, holdout, `held-out: ${rels[i]}`)).outcome.logits);
  }
  const correct = logits.map((l) => correctOf(l, holdout));
  const top1 = correct.map((c) => c / holdout.n);
  const order = greedyOrder(members.map((_, i) => ({ item: i, rel: rels[i]!, correct: correct[i]! })));
  const chosen = (limit === null ? order : order.slice(0, limit)).map((r) => r.item).sort((a, b) => a - b);
  const pairs = pairsAmong(chosen);
  runner.planAll(holdout.n * (n + pairs.length * grid.length + 2 + (greedyWanted ? n - 1 : 0)));

  const barriers = await measureBarriers(runner, models, members, top1, labels, pairs, grid, holdout);
  const meanBarrier = members.map((_, i) => {
    const mine = barriers.filter((p) => p.a === i || p.b === i).map((p) => p.barrier);
    return mine.length ? mine.reduce((a, b) => a + b, 0) / mine.length : null;
  });

  // The smallest top-1 difference the held-out set resolves: two binomial standard errors at the median run.
  const typical = median(top1);
  const resolvable = 2 * Math.sqrt((typical * (1 - typical)) / holdout.n);

  // Outliers: far from the base (or the others), high mean barrier, low accuracy, or another lineage.
  const mainGroup = lineage.groups[0] ?? [];
  const mainCorrelations = mainGroup.map((m) => correlation[0]![m + offset]!);
  const separateReason = (i: number): string | null => {
    if (lineage.groupOf[i] === 0) return null;
    const own = sweep.base
      ? correlation[0]![i + offset]!
      : Math.max(...mainGroup.map((m) => correlation[i]![m]!));
    const range =
      sweep.base && mainCorrelations.length
        ? ` (the base's other descendants: ${Math.min(...mainCorrelations).toFixed(2)} to ${Math.max(...mainCorrelations).toFixed(2)})`
        : '';
    return sweep.base
      ? `did not start from the base: its weights correlate at ${own.toFixed(2)} with the base's${range}`
      : `did not start from the same checkpoint as the largest group: its weights correlate at most ${own.toFixed(2)} with theirs`;
  };
  const verdicts = findOutliers(
    members.map((_, i) => ({
      who: who[i]!,
      distance: tasks ? tasks.norms[i]! : medianDistance[i]!,
      meanBarrier: meanBarrier[i]!,
      top1: top1[i]!,
      separateLineage: separateReason(i),
    })),
    tasks !== null,
    resolvable,
  );
  const outliers = members.map((_, i) => i).filter((i) => verdicts[i]!.outlier);
  const keep = members.map((_, i) => i).filter((i) => !verdicts[i]!.outlier);

  // Outlook: ensembles from the cached logits; uniform soups evaluated (and cached) like every soup.
  const uniformTop1 = async (list: readonly number[], label: string) => {
    const sum = models.accumulator();
    for (const i of list) await sum.addScaled(members[i]!, 1, signal ? { signal } : {});
    const { model } = models.soupModel(sum, 1 / list.length, label);
    const result = await runner.evaluate(model, holdout, label);
    runner.release(model);
    return result.outcome.metrics.correct / holdout.n;
  };
  const ensembleTop1 = (list: readonly number[]) =>
    correctOf(averageLogits(list.map((i) => logits[i]!)), holdout) / holdout.n;
  const uniformAll = await uniformTop1(
    members.map((_, i) => i),
    `uniform soup (${n})`,
  );
  const cleaned = outliers.length > 0 && keep.length > 0;
  const uniformClean = cleaned
    ? await uniformTop1(keep, `uniform soup without outliers (${keep.length})`)
    : null;
  const keptPairs = barriers.filter((p) => keep.includes(p.a) && keep.includes(p.b)).map((p) => p.barrier);
  const best = order[0]!.item;

  // The greedy soup, its trial soups' logits recorded, each step tested against the soup it would change.
  let greedy: AdviceDoc['greedy'] = null;
  if (greedyWanted) {
    const before = runner.evaluations.length;
    const soup = await greedySoup(
      runner,
      models,
      order.map((r) => ({ item: members[r.item]!, rel: r.rel, correct: r.correct })),
      holdout,
      false,
    );
    const trials = runner.evaluations.slice(before).map((e) => hits(e.outcome.logits, holdout));
    const tested = testGreedySteps(
      soup.steps.map((s) => ({ ...s, candidate: members[rels.indexOf(s.candidate)]!.path })),
      hits(logits[best]!, holdout),
      trials,
    );
    greedy = {
      size: soup.accepted.length,
      steps: tested.map((t) => ({
        step: t.step,
        candidate: t.candidate,
        accepted: t.accepted,
        holdout_correct: t.holdout_correct,
        better: t.better,
        worse: t.worse,
        p: t.p,
        explanation: t.explanation,
      })),
    };
  }

  const separate = members.map((_, i) => i).filter((i) => lineage.groupOf[i] !== 0);
  const lrOf = (i: number) => {
    const lr = learningRate(hyper[i]!);
    return lr && typeof lr.value === 'number' ? lr.value : null;
  };
  const lineageOutliers = outliers.filter((i) => lineage.groupOf[i] === 0);
  const outlierRates = lineageOutliers.map(lrOf);
  const otherRates = keep.map(lrOf);
  const highestRates =
    lineageOutliers.length > 0 &&
    otherRates.length > 0 &&
    [...outlierRates, ...otherRates].every((r) => r !== null) &&
    Math.min(...(outlierRates as number[])) > Math.max(...(otherRates as number[]));
  const outlierNote = highestRates
    ? `${lineageOutliers.length > 1 ? "they were trained with the sweep's highest learning rates" : "it was trained with the sweep's highest learning rate"} (${outlierRates.map((r) => formatSetting(r!)).join(', ')}; every other run ≤ ${formatSetting(Math.max(...(otherRates as number[])))})`
    : null;
  const rejected = greedy?.steps.filter((s) => !s.accepted) ?? [];
  const verdict = verdictText({
    holdoutName: holdout.name,
    holdoutN: holdout.n,
    runs: n,
    best: { who: who[best]!, top1: top1[best]! },
    separate: separate.map((i) => who[i]!),
    outliers: outliers.map((i) => who[i]!),
    outlierNote,
    ensembleTop1: ensembleTop1(members.map((_, i) => i)),
    ensembleWithoutOutliersTop1: cleaned ? ensembleTop1(keep) : null,
    uniformTop1: uniformAll,
    uniformWithoutOutliersTop1: uniformClean,
    medianBarrier: keptPairs.length ? median(keptPairs) : null,
    positivePairs: { positive: keptPairs.filter((b) => b > 0).length, total: keptPairs.length },
    greedy: greedy
      ? {
          size: greedy.size,
          rejected: rejected.length,
          rejectedWithinNoise: rejected.filter((s) => s.p >= SIGNIFICANCE_LEVEL).length,
        }
      : null,
  });

  const head = headTensors(models.graph.weightLayout.entries).map((e) => ({ name: e.name, shape: e.shape }));
  return {
    holdout: { name: holdout.name, path: holdout.file, n: holdout.n },
    base: sweep.base?.path ?? null,
    ingredients: members.map((m, i) => ({
      path: m.path,
      label: labels[i]!,
      holdout_top1: top1[i]!,
      holdout_correct: correct[i]!,
      task_vector_norm: tasks ? tasks.norms[i]! : null,
      median_distance: medianDistance[i]!,
      base_correlation: sweep.base ? correlation[0]![i + offset]! : null,
      mean_barrier: meanBarrier[i]!,
      hyperparameters: hyper[i]!,
      group: lineage.groupOf[i]!,
      outlier: verdicts[i]!.outlier,
      reasons: verdicts[i]!.reasons,
    })),
    pairs: barriers.map((p) => ({
      a: members[p.a]!.path,
      b: members[p.b]!.path,
      cosine: tasks ? tasks.cosine[p.a]![p.b]! : null,
      l2: l2(p.a, p.b),
      midpoint_top1: p.midpoint.top1,
      barrier: p.barrier,
      points: p.points,
    })),
    pairs_limit: limit,
    lineage: {
      groups: lineage.groups.map((g) => g.map((i) => members[i]!.path)),
      notes: lineage.groups
        .slice(1)
        .map((g) => `${g.map((i) => who[i]!).join(', ')}: ${separateReason(g[0]!)!}`),
      threshold: LINEAGE_THRESHOLD,
      head,
    },
    outlook: {
      best_single: { path: members[best]!.path, top1: top1[best]! },
      ensemble_top1: ensembleTop1(members.map((_, i) => i)),
      ensemble_without_outliers_top1: cleaned ? ensembleTop1(keep) : null,
      uniform_top1: uniformAll,
      uniform_without_outliers_top1: uniformClean,
      excluded: outliers.map((i) => members[i]!.path),
      median_barrier: keptPairs.length ? median(keptPairs) : null,
    },
    greedy,
    outlier_rule: {
      statistic:
        'modified z-score (x − median) / (1.4826 · MAD) of the distance from the base, the mean barrier and the held-out top-1',
      threshold: OUTLIER_Z,
      resolvable,
    },
    verdict,
    warnings: sweep.skipped,
    createdAt: new Date().toISOString(),
  };
}
