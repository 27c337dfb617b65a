import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectProviders } from '../../../src-main/core/inference/providers.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { ensureHostBuilt, fixtureDir } from './build-host.js';

const kitchenDir = path.join(fixtureDir, 'kitchen');
const data = (name: string) => path.join(kitchenDir, 'data', `${name}.safetensors`);
const model = (run: string) => path.join(kitchenDir, 'sweep', run, 'model.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-eval-services-'));
let kitchen: Kitchen;

beforeAll(() => {
  ensureHostBuilt();
  kitchen = new Kitchen({ transport: 'cli', dataDir: tmp, demoKitchen: null });
});
afterAll(() => {
  kitchen.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('evalsets channels', () => {
  it('lists the sets of a folder with roles; a role set in the app wins and can be cleared', async () => {
    const listed = await kitchen.call('evalsets:list', { folder: kitchenDir });
    expect(listed.evalsets.map((s) => [s.name, s.role, s.roleSource])).toEqual([
      ['holdout', 'holdout', 'file'],
      ['shift-noise', 'shift', 'file'],
      ['shift-subset', 'shift', 'file'],
      ['test', 'id', 'file'],
    ]);
    expect(listed.leakage).toEqual([]);
    const changed = await kitchen.call('evalsets:setRole', { path: data('test'), role: 'shift' });
    expect([changed.role, changed.roleSource]).toEqual(['shift', 'app']);
    const cleared = await kitchen.call('evalsets:setRole', { path: data('test'), role: null });
    expect([cleared.role, cleared.roleSource]).toEqual(['id', 'file']);
    const inspected = await kitchen.call('evalsets:inspect', { path: data('holdout') });
    expect(inspected.labelHistogram.reduce((a, b) => a + b, 0)).toBe(400);
  });
  it('rejects a bad request at the boundary', async () => {
    await expect(
      kitchen.invoke('evalsets:setRole', { path: data('test'), role: 'train' }),
    ).rejects.toMatchObject({ code: 'bad_request' });
  });
});

describe('evaluations channels', () => {
  it('runs a job, stores provenance, answers the matrix, significance and cache size', async () => {
    const { jobId } = await kitchen.call('evaluations:run', {
      models: [model('run-01'), model('run-03')],
      evalsets: [data('test')],
      threads: 1,
      batchSize: 100,
    });
    const job = await kitchen.jobs.wait(jobId);
    expect(job.state).toBe('done');
    const matrix = await kitchen.call('evaluations:matrix', { evalsets: [data('test')] });
    expect(matrix.evaluations).toHaveLength(2);
    for (const e of matrix.evaluations) {
      expect(e.provider).toBe('cpu');
      expect(e.batchSize).toBe(100);
      expect(e.threads).toBe(1);
      expect(e.ortVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(e.durationMs).toBeGreaterThan(0);
    }
    const sig = await kitchen.call('evaluations:significance', {
      modelA: model('run-01'),
      modelB: model('run-03'),
      evalset: data('test'),
    });
    expect(sig.n).toBe(500);
    expect(sig.top1A.value).toBeCloseTo(
      matrix.evaluations.find((e) => e.model.path === model('run-01'))!.top1,
      12,
    );
    expect(sig.top1A.low).toBeLessThan(sig.top1A.value);
    expect(sig.p).toBeGreaterThan(0);
    const usage = await kitchen.call('evaluations:cacheUsage', {});
    expect(usage.files).toBe(2);
    const moved = await kitchen.call('evaluations:setCacheDir', { dir: path.join(tmp, 'elsewhere') });
    expect([moved.dir, moved.files]).toEqual([path.join(tmp, 'elsewhere'), 0]);
    const back = await kitchen.call('evaluations:setCacheDir', { dir: null });
    expect(back.files).toBe(2);
    const pruned = await kitchen.call('evaluations:pruneCache', { maxBytes: 0 });
    expect(pruned.usage.bytes).toBe(0);
  });
  it('plans the whole job up front and says which results came from the logits cache', async () => {
    const models = [model('run-02'), model('run-05')];
    const sets = [data('test'), data('shift-subset')];
    const n = (await kitchen.call('evalsets:list', { folder: kitchenDir })).evalsets
      .filter((s) => sets.includes(s.path))
      .reduce((a, s) => a + s.n, 0);
    const run = async () => {
      const totals = new Set<number | null>();
      const progress: Array<{ jobId: string; total: number | null }> = [];
      const off = kitchen.events.subscribe((name, payload) => {
        if (name === 'job:progress') progress.push(payload as { jobId: string; total: number | null });
      });
      const { jobId } = await kitchen.call('evaluations:run', { models, evalsets: sets, batchSize: 100 });
      const { evaluations } = await kitchen.jobs.wait('evaluations:run', jobId);
      off();
      for (const p of progress) if (p.jobId === jobId) totals.add(p.total);
      return { totals, evaluations };
    };
    const first = await run();
    expect([...first.totals]).toEqual([models.length * n]);
    expect(first.evaluations.map((e) => e.cached)).toEqual([false, false, false, false]);
    const second = await run();
    expect(second.evaluations.map((e) => e.cached)).toEqual([true, true, true, true]);
    const stored = await kitchen.call('evaluations:matrix', { models, evalsets: sets });
    expect(stored.evaluations.map((e) => e.cached)).toEqual([false, false, false, false]);
  });
  it("concurrent jobs share the host without evicting one another's sessions", async () => {
    const runs = ['run-00', 'run-02', 'run-04', 'run-05'];
    const started = await Promise.all([
      kitchen.call('evaluations:run', {
        models: runs.map(model),
        evalsets: [data('shift-noise')],
        batchSize: 50,
      }),
      kitchen.call('evaluations:run', {
        models: [...runs].reverse().map(model),
        evalsets: [data('holdout')],
        batchSize: 50,
      }),
      kitchen.call('recipes:cook', {
        method: 'uniform',
        ingredients: runs.map(model),
        evals: [data('holdout')],
      }),
    ]);
    const jobs = await Promise.all(started.map((s) => kitchen.jobs.wait(s.jobId)));
    expect(jobs.map((j) => [j.state, j.error])).toEqual(jobs.map(() => ['done', null]));
  });
  it('two eval sets that differ only in normalisation never share numbers (the logits cache is keyed by the transform)', async () => {
    // A copy of the test set whose tureen.transform has the wrong mean: same pixels, other model inputs.
    const original = fs.readFileSync(data('test'));
    const headerLength = Number(original.readBigUInt64LE(0));
    const header = JSON.parse(original.toString('utf8', 8, 8 + headerLength)) as {
      __metadata__: Record<string, string>;
    };
    const transform = JSON.parse(header.__metadata__['tureen.transform']!) as Record<
      string,
      { mean: number[] }
    >;
    for (const spec of Object.values(transform)) spec.mean = spec.mean.map((m) => m + 2);
    header.__metadata__['tureen.transform'] = JSON.stringify(transform);
    header.__metadata__['tureen.name'] = 'test-wrong-mean';
    let json = JSON.stringify(header);
    while (json.length % 8) json += ' ';
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const wrong = path.join(tmp, 'test-wrong-mean.safetensors');
    fs.writeFileSync(wrong, Buffer.concat([length, Buffer.from(json), original.subarray(8 + headerLength)]));

    const evaluate = async (k: Kitchen, set: string) => {
      const { jobId } = await k.call('evaluations:run', { models: [model('run-03')], evalsets: [set] });
      return (await k.jobs.wait('evaluations:run', jobId)).evaluations[0]!;
    };
    // Wrong copy first, then the right set: the right set must not be served the wrong copy's logits.
    const onWrong = await evaluate(kitchen, wrong);
    const onRight = await evaluate(kitchen, data('test'));
    expect(onRight.correct).not.toBe(onWrong.correct);
    // The right set's number equals what a kitchen with an empty cache computes on its own.
    const freshDir = fs.mkdtempSync(path.join(tmp, 'fresh-'));
    const fresh = new Kitchen({ transport: 'cli', dataDir: freshDir, demoKitchen: null });
    try {
      const alone = await evaluate(fresh, data('test'));
      expect(alone.cached).toBe(false);
      expect(onRight.correct).toBe(alone.correct);
    } finally {
      fresh.close();
    }
  });
  it('a cancelled job ends in state cancelled', async () => {
    // cancel once the job has reported progress: it is then surely running, whatever the machine's speed
    const progressed = new Set<string>();
    let onProgress = () => {};
    const off = kitchen.events.subscribe((name, payload) => {
      if (name !== 'job:progress') return;
      progressed.add((payload as { jobId: string }).jobId);
      onProgress();
    });
    try {
      const { jobId } = await kitchen.call('compare:run', {
        folders: [kitchenDir],
        batchSize: 1,
        learnedBudget: 0,
      });
      await new Promise<void>((resolve) => {
        onProgress = () => progressed.has(jobId) && resolve();
        onProgress();
      });
      expect((await kitchen.call('jobs:cancel', { jobId })).cancelled).toBe(true);
      const job = await kitchen.jobs.wait(jobId);
      expect(job.state).toBe('cancelled');
      expect(job.error?.code).toBe('cancelled');
    } finally {
      off();
    }
  });
  it('an unknown provider is refused with the known ones, an unavailable one with the reason', async () => {
    const providers = detectProviders();
    expect(providers.find((p) => p.name === 'cpu')?.available).toBe(true);
    await expect(
      kitchen.invoke('evaluations:run', {
        models: [model('run-01')],
        evalsets: [data('test')],
        provider: 'no-such-provider',
      }),
    ).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining(providers.map((p) => p.name).join(', ')),
    });
    // a provider this platform knows but that is not installed here (none on a machine that has them all)
    const missing = providers.find((p) => !p.available);
    if (!missing) return;
    await expect(
      kitchen.invoke('evaluations:run', {
        models: [model('run-01')],
        evalsets: [data('test')],
        provider: missing.name,
      }),
    ).rejects.toMatchObject({ code: 'not_supported', message: expect.stringContaining(missing.reason!) });
  });
});
