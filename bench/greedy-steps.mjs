// Greedy soup, step by step: where a step's time goes, and what overlapping the next candidate's averaging
// with the current evaluation saves. Prints one JSON document.
//
// Each step of greedy.ts is: (1) average: copy the running sum and add the candidate (worker threads),
// (2) prepare: convert to the graph's float32 buffer and hash it (worker threads), (3) evaluate on the
// held-out set (inference host process, weights sent over IPC). The bench runs that loop as greedy.ts does
// (sequential), then an overlapped loop: while step k evaluates, both possible next sums (S + θ and
// S + θ_k + θ) are added on the workers, and the one the decision picks is used (same bits as sequential:
// the additions happen in the same order). Both loops must pick the same ingredients.
//
// Run: npx tsc -p tsconfig.cli.json && node bench/greedy-steps.mjs   env: KITCHEN (reuse), RUNS (8), HIDDEN (3072)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = (p) => import(path.join(root, 'out/node', p));
const { openFamily } = await out('core/checkpoints/open-family.js');
const { SoupModels } = await out('core/recipes/soup-models.js');
const { readEvalSet } = await out('core/datasets/evalset.js');
const { InferenceHost } = await out('core/inference/host.js');
const { LogitsCache } = await out('core/inference/logits-cache.js');
const { Evaluator } = await out('core/inference/evaluator.js');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-bench-greedy-'));
const kitchen = process.env.KITCHEN ?? path.join(tmp, 'kitchen');
if (!fs.existsSync(path.join(kitchen, 'data', 'holdout.safetensors'))) {
  execFileSync('/usr/bin/python3', [
    path.join(root, 'bench/make_onnx_kitchen.py'),
    kitchen,
    process.env.RUNS ?? '8',
    process.env.HIDDEN ?? '3072',
  ]);
}
const runs = fs
  .readdirSync(path.join(kitchen, 'sweep'))
  .sort()
  .map((d) => path.join(kitchen, 'sweep', d, 'model.onnx'));
const opened = await openFamily(runs);
const models = await SoupModels.create(opened);
const holdout = readEvalSet(path.join(kitchen, 'data', 'holdout.safetensors'));
const host = new InferenceHost();
const evaluator = new Evaluator(host, new LogitsCache(path.join(tmp, 'cache')));
const options = { provider: 'cpu', threads: 1, batchSize: 256 };
let fresh = 0;
// a fresh hash per evaluation so the logits cache never answers (both loops evaluate every step)
const evaluate = async (model) => {
  const outcome = await evaluator.evaluate({ ...model, hash: `${model.hash}-${fresh++}` }, holdout, options);
  return outcome.metrics.correct;
};

const ranked = [];
for (const ingredient of opened.members)
  ranked.push({ ingredient, correct: await evaluate(await models.ingredientModel(ingredient)) });
ranked.sort((a, b) => b.correct - a.correct || (a.ingredient.path < b.ingredient.path ? -1 : 1));

const ms = (t0) => Math.round((performance.now() - t0) * 10) / 10;

async function sequential() {
  const steps = [];
  let sum = models.accumulator();
  await sum.addScaled(ranked[0].ingredient, 1);
  let size = 1;
  let best = ranked[0].correct;
  const accepted = [0];
  const t0 = performance.now();
  for (let k = 1; k < ranked.length; k++) {
    let t = performance.now();
    const trial = await sum.cloneShared();
    await trial.addScaled(ranked[k].ingredient, 1);
    const average = ms(t);
    t = performance.now();
    const { model } = await models.soupModelShared(trial, 1 / (size + 1), `step ${k}`);
    const prepare = ms(t);
    t = performance.now();
    const correct = await evaluate(model);
    const evaluation = ms(t);
    if (correct >= best) {
      sum = trial;
      size++;
      best = correct;
      accepted.push(k);
    }
    steps.push({ step: k, average_ms: average, prepare_ms: prepare, evaluate_ms: evaluation });
  }
  return { total_ms: ms(t0), accepted, steps };
}

async function overlapped() {
  const steps = [];
  let sum = models.accumulator();
  await sum.addScaled(ranked[0].ingredient, 1);
  let size = 1;
  let best = ranked[0].correct;
  const accepted = [0];
  const t0 = performance.now();
  const addTo = async (base, k) => {
    const s = await base.cloneShared();
    await s.addScaled(ranked[k].ingredient, 1);
    return s;
  };
  let trialPromise = addTo(sum, 1);
  for (let k = 1; k < ranked.length; k++) {
    let t = performance.now();
    const trial = await trialPromise;
    const waitAverage = ms(t);
    t = performance.now();
    const { model } = await models.soupModelShared(trial, 1 / (size + 1), `step ${k}`);
    const prepare = ms(t);
    t = performance.now();
    // while this candidate evaluates, add the next one to both possible sums
    const next = k + 1 < ranked.length;
    const ifRejected = next ? addTo(sum, k + 1) : null;
    const ifAccepted = next ? addTo(trial, k + 1) : null;
    const correct = await evaluate(model);
    const evaluation = ms(t);
    const ok = correct >= best;
    if (ok) {
      sum = trial;
      size++;
      best = correct;
      accepted.push(k);
    }
    if (next) trialPromise = ok ? ifAccepted : ifRejected;
    steps.push({ step: k, wait_average_ms: waitAverage, prepare_ms: prepare, evaluate_ms: evaluation });
  }
  return { total_ms: ms(t0), accepted, steps };
}

const load = [os.loadavg()[0]];
const seq = await sequential();
load.push(os.loadavg()[0]);
const ovl = await overlapped();
load.push(os.loadavg()[0]);
const seq2 = await sequential();
load.push(os.loadavg()[0]);
host.close();
const sumOf = (steps, key) => Math.round(steps.reduce((s, x) => s + x[key], 0));
console.log(
  JSON.stringify(
    {
      bench: 'greedy-steps',
      runs: runs.length,
      model_mb: Math.round(fs.statSync(runs[0]).size / 1e6),
      holdout_n: holdout.n,
      cpus: os.cpus().length,
      load_average_1min: load.map((x) => Math.round(x * 100) / 100),
      same_selection: JSON.stringify(seq.accepted) === JSON.stringify(ovl.accepted),
      sequential: {
        total_ms: [seq.total_ms, seq2.total_ms],
        split_ms: {
          average: sumOf(seq.steps, 'average_ms'),
          prepare: sumOf(seq.steps, 'prepare_ms'),
          evaluate: sumOf(seq.steps, 'evaluate_ms'),
        },
        steps: seq.steps,
      },
      overlapped: {
        total_ms: ovl.total_ms,
        split_ms: {
          wait_for_average: sumOf(ovl.steps, 'wait_average_ms'),
          prepare: sumOf(ovl.steps, 'prepare_ms'),
          evaluate: sumOf(ovl.steps, 'evaluate_ms'),
        },
        steps: ovl.steps,
      },
      overlapped_vs_sequential:
        Math.round((ovl.total_ms / Math.min(seq.total_ms, seq2.total_ms)) * 1000) / 1000,
    },
    null,
    2,
  ),
);
if (!process.env.KITCHEN) fs.rmSync(tmp, { recursive: true, force: true });
