import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import { familyPickOf } from '../../common/api/family-pick.js';
import type { CompareRow, CompareTable } from '../../common/api/recipes.js';
import type { Ingredient } from '../checkpoints/index.js';
import type { EvalSet } from '../datasets/evalset.js';
import { findLeakage } from '../datasets/leakage.js';
import { planEvalSets } from '../datasets/registry.js';
import type { Logits } from '../inference/metrics.js';
import { averageLogits, computeMetrics, correctness } from '../inference/metrics.js';
import { mcnemarExact } from '../inference/stats.js';
import { CompareKind, MergeMethodName } from '../../common/api/recipes.js';
import { COMPARE_SOUPS, comparePlan } from './compare-methods.js';
import { greedyEnsemble } from './ensembles.js';
import type { Ranked } from './greedy.js';
import { greedyOrder } from './greedy.js';
import { openFamily } from '../checkpoints/open-family.js';
import type { RecipeEnv } from './cook.js';
import { cookRecipe, methodNamed } from './cook.js';
import { LEARNED_DEFAULT_BUDGET } from './learned.js';
import type { Method } from './methods/method.js';
import type { SearchGrid } from './search.js';
import { saveRecipe } from '../store/recipe-store.js';
import type { RecipeRunner } from './runner.js';
import type { IdentifiedModel } from './soup-models.js';
import { SoupModels } from './soup-models.js';

export type Row = z.output<typeof CompareRow>;
export type Table = z.output<typeof CompareTable>;
type Metrics = NonNullable<Row['metrics'][string]>;

export interface CompareInput {
  folders: readonly string[];
  holdout?: string | undefined;
  evals?: readonly string[] | undefined;
  learnedBudget?: number | undefined;
  /** soups and merge methods to compare (see comparePlan) */
  methods?: readonly string[] | undefined;
  /** which family when the folders hold several, and PyTorch EMA weights ('prefer': a kitchen's default) */
  family?: string | undefined;
  ema?: boolean | 'prefer' | undefined;
}

/** A row under construction: its logits per eval set (for McNemar against the best single model). */
interface Draft {
  row: Omit<Row, 'mcnemarP'>;
  logits: Map<string, Logits>;
}

function metricsOf(logits: Logits, set: EvalSet, logitScale: number): Metrics {
  const m = computeMetrics(logits, set.labels, set.classSubset, logitScale);
  return { n: m.n, correct: m.correct, top1: m.top1, top5: m.top5, nll: m.nll, ece: m.ece };
}

/**
 * The comparison of a sweep: every ingredient (and the base), best single by held-out accuracy, the oracle
 * best per set, uniform / greedy / learned soups, the uniform logit ensemble and the greedy ensemble, each
 * with metrics per eval set, mean shift accuracy, cost, and McNemar's p against the best single model.
 */
export async function compareSweep(
  db: Database,
  runner: RecipeRunner,
  input: CompareInput,
): Promise<Omit<Table, 'id' | 'createdAt'>> {
  const sweep = await openFamily(input.folders, { db, ...familyPickOf(input) });
  const folders = input.folders.filter((f) => fs.existsSync(f) && fs.statSync(f).isDirectory());
  const plan = planEvalSets(db, {
    folders,
    holdout: input.holdout,
    evals: input.evals,
    requireHoldout: true,
  });
  const holdout = plan.holdout!.set;
  const sets = [holdout, ...plan.others.map((o) => o.set)];
  const shiftNames = plan.others.filter((o) => o.role === 'shift').map((o) => o.set.name);
  const warnings = [
    ...sweep.skipped,
    ...findLeakage(
      holdout,
      plan.others.map((o) => ({ set: o.set, role: o.role ?? 'id' })),
    ).map((l) => l.message),
  ];
  const models = await SoupModels.create(sweep);
  const params = sweep.family.params;
  const budget = input.learnedBudget ?? LEARNED_DEFAULT_BUDGET;
  const wanted = comparePlan(input.methods, {
    hasBase: sweep.base !== null,
    members: sweep.members.length,
  });
  warnings.push(...wanted.warnings);
  const learnedRuns = wanted.soups.has('learned') && budget > 0 && sweep.members.length > 1;
  const greedyRuns = wanted.soups.has('greedy');
  const allSets = sets.reduce((a, s) => a + s.n, 0);
  const modelsEverywhere =
    (sweep.base ? 1 : 0) +
    sweep.members.length +
    [...wanted.soups].filter((n) => n !== 'learned').length +
    (learnedRuns ? 1 : 0) +
    wanted.merges.length;
  const searched = wanted.merges.reduce((n, m) => n + (m.search?.values.length ?? 0), 0);
  runner.planAll(
    modelsEverywhere * allSets +
      holdout.n * ((greedyRuns ? 2 * sweep.members.length - 1 : 0) + (learnedRuns ? budget : 0) + searched),
  );
  const rel = (i: Ingredient) => sweep.relative(i.path);
  const everywhere = async (model: IdentifiedModel, label: string) => {
    const logits = new Map<string, Logits>();
    runner.plan(sets.reduce((a, s) => a + s.n, 0));
    for (const set of sets)
      logits.set(set.name, (await runner.evaluate(model, set, `${label} on ${set.name}`)).outcome.logits);
    return logits;
  };
  const draft = (
    kind: Row['kind'],
    label: string,
    ingredients: string[],
    logits: Map<string, Logits>,
    cost: number,
    recipeId: number | null = null,
    logitScale = 1,
  ): Draft => {
    const metrics: Record<string, Metrics | null> = {};
    for (const set of sets) {
      const l = logits.get(set.name);
      metrics[set.name] = l ? metricsOf(l, set, logitScale) : null;
    }
    const shifts = shiftNames.map((n) => metrics[n]?.top1).filter((v): v is number => v !== undefined);
    return {
      row: {
        kind,
        label,
        ingredients,
        metrics,
        meanShift: shifts.length ? shifts.reduce((a, b) => a + b, 0) / shifts.length : null,
        params,
        relativeCost: cost,
        recipeId,
      },
      logits,
    };
  };

  const members: Array<{ ingredient: Ingredient; logits: Map<string, Logits> }> = [];
  const drafts: Draft[] = [];
  if (sweep.base) {
    const logits = await everywhere(await models.ingredientModel(sweep.base, runner.signal), rel(sweep.base));
    drafts.push(draft('base', rel(sweep.base), [rel(sweep.base)], logits, 1));
  }
  for (const ingredient of sweep.members) {
    const logits = await everywhere(await models.ingredientModel(ingredient, runner.signal), rel(ingredient));
    members.push({ ingredient, logits });
    drafts.push(draft('ingredient', rel(ingredient), [rel(ingredient)], logits, 1));
  }
  const holdoutCorrect = (logits: Map<string, Logits>) =>
    computeMetrics(logits.get(holdout.name)!, holdout.labels, holdout.classSubset).correct;
  const ranked: Array<Ranked<(typeof members)[number]>> = members.map((m) => ({
    item: m,
    rel: rel(m.ingredient),
    correct: holdoutCorrect(m.logits),
  }));
  const best = greedyOrder(ranked)[0]!;
  const bestDraft = draft(
    'best_single',
    `best on ${holdout.name}: ${best.rel}`,
    [best.rel],
    best.item.logits,
    1,
  );
  drafts.push(bestDraft);

  const oracleLogits = new Map<string, Logits>();
  const chosen: Record<string, string> = {};
  for (const set of sets) {
    const top = greedyOrder(
      members.map((m) => ({
        item: m,
        rel: rel(m.ingredient),
        correct: computeMetrics(m.logits.get(set.name)!, set.labels, set.classSubset).correct,
      })),
    )[0]!;
    oracleLogits.set(set.name, top.item.logits.get(set.name)!);
    chosen[set.name] = top.rel;
  }
  const oracle = draft(
    'oracle',
    'oracle (best ingredient per set)',
    [...new Set(Object.values(chosen))],
    oracleLogits,
    1,
  );
  oracle.row.chosen = chosen;
  drafts.push(oracle);

  // The soups and merges, each through the code of `tureen cook <method>` (cookRecipe): the same params,
  // the same recipe, the same weights
  const env = (search: SearchGrid | null): RecipeEnv => ({
    sweep,
    given: input.folders,
    evaluation: { runner, models, plan, holdout },
    precision: undefined,
    dtype: undefined,
    search,
    signal: runner.signal,
  });
  const cookRow = async (method: Method, params: Record<string, unknown>, search: SearchGrid | null) => {
    const cooked = await cookRecipe(method, params, env(search));
    const model = cooked.model!;
    const logits = await everywhere(model, cooked.soup.label);
    const warned = cooked.soup.warnings ?? [];
    const id = saveRecipe(db, {
      method: method.name,
      label: cooked.soup.label,
      folder: sweep.root,
      weightsHash: model.hash,
      document: {
        recipe: cooked.recipe,
        evaluations: [],
        outputs: [],
        ...(warned.length ? { warnings: warned } : {}),
      },
    });
    return { cooked, logits, id, rels: cooked.soup.parts.map((p) => rel(p.ingredient)) };
  };

  // The soups of the registry, in its order: one row each (kind `<name>_soup`). The greedy soup's ranking
  // reuses the ingredients' cached held-out evaluations above; the learned soup spends `budget` of them.
  for (const name of COMPARE_SOUPS) {
    if (!wanted.soups.has(name) || (name === 'learned' && !learnedRuns)) continue;
    const params = name === 'learned' ? { budget, seed: 0 } : {};
    const { cooked, logits, id, rels } = await cookRow(methodNamed(name), params, null);
    const label =
      name === 'learned'
        ? `learned soup (${members.length}, ${cooked.soup.heldOutEvaluations ?? budget} evaluations)`
        : cooked.soup.label;
    const kind = CompareKind.parse(`${name}_soup`);
    drafts.push(draft(kind, label, rels, logits, 1, id, cooked.soup.logitScale ?? 1));
  }

  // Merge methods of the registry
  for (const m of wanted.merges) {
    const { cooked, logits, id } = await cookRow(m.method, m.params, m.search);
    warnings.push(...(cooked.soup.warnings ?? []).map((w) => `${m.method.name}: ${w}`));
    const row = draft('merge', cooked.soup.label, sweep.members.map(rel), logits, 1, id);
    row.row.method = MergeMethodName.parse(m.method.name);
    drafts.push(row);
  }

  // Ensembles from cached logits: no further inference
  const ensembleLogits = new Map<string, Logits>();
  for (const set of sets)
    ensembleLogits.set(set.name, averageLogits(members.map((m) => m.logits.get(set.name)!)));
  drafts.push(
    draft(
      'ensemble',
      `ensemble (${members.length})`,
      members.map((m) => rel(m.ingredient)),
      ensembleLogits,
      members.length,
    ),
  );
  const greedyEns = greedyEnsemble(
    ranked.map((r) => ({ ...r, holdoutLogits: r.item.logits.get(holdout.name)! })),
    holdout,
    false,
  );
  const greedyEnsLogits = new Map<string, Logits>();
  for (const set of sets)
    greedyEnsLogits.set(set.name, averageLogits(greedyEns.members.map((m) => m.item.logits.get(set.name)!)));
  drafts.push(
    draft(
      'greedy_ensemble',
      `greedy ensemble (${greedyEns.members.length})`,
      greedyEns.members.map((m) => m.rel),
      greedyEnsLogits,
      greedyEns.members.length,
    ),
  );

  const rows: Row[] = drafts.map((d) => {
    const p: Record<string, number | null> = {};
    for (const set of sets) {
      const mine = d.logits.get(set.name);
      const theirs = bestDraft.logits.get(set.name);
      p[set.name] =
        d === bestDraft || !mine || !theirs
          ? null
          : mcnemarExact(correctness(mine, set.labels), correctness(theirs, set.labels)).p;
    }
    return { ...d.row, mcnemarP: p };
  });

  return {
    folders: input.folders.map((f) => f),
    evalsets: [
      { name: holdout.name, role: 'holdout', path: holdout.file, n: holdout.n },
      ...plan.others.map((o) => ({ name: o.set.name, role: o.role ?? 'id', path: o.set.file, n: o.set.n })),
    ],
    rows,
    provider: runner.settings.provider,
    ortVersion: await runner.ortVersion(),
    warnings,
  };
}
