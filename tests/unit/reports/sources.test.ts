import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportFolder } from '../../../src-main/cli/commands/report.js';
import { TureenError } from '../../../src-main/common/errors.js';
import type { Cooked, RegisteredKitchen } from '../../../src-main/core/reports/sources.js';
import { acceptedInOrder, latestCompare } from '../../../src-main/core/reports/sources.js';
import type { ApiClient } from '../../../src-main/core/service.js';

function greedy(paths: string[], steps: Array<[string, boolean]>): Cooked {
  return {
    recipeId: 1,
    recipe: {
      method: 'greedy',
      params: {},
      ingredients: paths.map((p) => ({ path: p, sha256: 'x', coefficient: 1 / paths.length })),
      holdout: null,
      weights_sha256: null,
      steps: steps.map(([candidate, accepted], step) => ({
        step,
        candidate,
        holdout_correct: 0,
        holdout_top1: 0,
        accepted,
        size: 0,
      })),
    },
    evaluations: [],
    outputs: [],
  };
}

describe('acceptedInOrder', () => {
  it('follows the steps, matching candidates given relative to the folder', () => {
    const cooked = greedy(
      ['/k/sweep/a/model.onnx', '/k/sweep/c/model.onnx', '/k/sweep/b/model.onnx'],
      [
        ['sweep/b/model.onnx', true],
        ['sweep/d/model.onnx', false],
        ['sweep/a/model.onnx', true],
        ['sweep/c/model.onnx', true],
      ],
    );
    expect(acceptedInOrder(cooked)).toEqual([
      '/k/sweep/b/model.onnx',
      '/k/sweep/a/model.onnx',
      '/k/sweep/c/model.onnx',
    ]);
  });

  it('falls back to the recipe order when the steps do not name every ingredient', () => {
    const cooked = greedy(['/k/a.onnx', '/k/b.onnx'], [['a', true]]);
    expect(acceptedInOrder(cooked)).toEqual(['/k/a.onnx', '/k/b.onnx']);
  });
});

/** A client whose every call is answered by `answer` (the report reads only through the client). */
function client(answer: (channel: string, payload: unknown) => Promise<unknown>): ApiClient {
  return {
    invoke: answer,
    call: answer as ApiClient['call'],
    run: answer as ApiClient['run'],
  };
}

describe('latestCompare', () => {
  const kitchen = { path: '/k' } as RegisteredKitchen;
  it("asks compare:table for the kitchen folder's latest comparison", async () => {
    const calls: unknown[] = [];
    const table = {
      id: 3,
      folders: ['/k/sweep'],
      evalsets: [],
      rows: [],
      provider: 'cpu',
      ortVersion: '1.30.0',
      warnings: [],
      createdAt: '2026-01-01T00:00:00Z',
    };
    const got = await latestCompare(
      client((channel, payload) => {
        calls.push([channel, payload]);
        return Promise.resolve(table);
      }),
      kitchen,
    );
    expect(calls).toEqual([['compare:table', { folder: '/k' }]]);
    expect(got).toEqual(table);
  });
  it('is null when no comparison covers the kitchen, and passes errors on', async () => {
    expect(
      await latestCompare(
        client(() => Promise.resolve(null)),
        kitchen,
      ),
    ).toBeNull();
    const broken = client(() => Promise.reject(new TureenError('internal', 'database is locked')));
    await expect(latestCompare(broken, kitchen)).rejects.toMatchObject({ code: 'internal' });
  });
});

describe('reportFolder', () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-report-folder-')));
  fs.mkdirSync(path.join(root, 'sweep', 'a'), { recursive: true });
  fs.mkdirSync(path.join(root, 'sweep', 'b'), { recursive: true });
  fs.writeFileSync(path.join(root, 'sweep', 'a', 'model.onnx'), '');

  it('is the folder given, or the folder of a file', () => {
    expect(reportFolder([root])).toBe(root);
    expect(reportFolder([path.join(root, 'sweep', 'a', 'model.onnx')])).toBe(path.join(root, 'sweep', 'a'));
  });
  it('is the common folder of several paths', () => {
    expect(reportFolder([path.join(root, 'sweep', 'a'), path.join(root, 'sweep', 'b')])).toBe(
      path.join(root, 'sweep'),
    );
  });
  it('names a path that does not exist', () => {
    expect(() => reportFolder([path.join(root, 'nope')])).toThrow(/nope does not exist/);
  });
});
