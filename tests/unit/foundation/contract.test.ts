import { afterEach, describe, expect, it } from 'vitest';
import { api, events } from '../../../src-main/common/api.js';
import { JobStarted } from '../../../src-main/common/contract.js';
import { TureenError } from '../../../src-main/common/errors.js';
import { EventBus } from '../../../src-main/core/events.js';
import { JobRunner } from '../../../src-main/core/jobs.js';
import type { Kitchen } from '../../../src-main/core/kitchen.js';
import { tempKitchen } from './helpers.js';

let kitchen: Kitchen | null = null;
afterEach(() => {
  kitchen?.close();
  kitchen = null;
});

async function rejection(promise: Promise<unknown>): Promise<TureenError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TureenError);
    return error as TureenError;
  }
  throw new Error('expected the call to fail');
}

describe('API contract', () => {
  it('names every channel domain:verb and every event domain:noun', () => {
    for (const name of [...Object.keys(api), ...Object.keys(events)])
      expect(name).toMatch(/^[a-z]+:[a-zA-Z]+$/);
  });

  it('declares the result of every channel that starts a job (jobChannel)', () => {
    const starters = Object.entries(api).filter(([, def]) => def.response === JobStarted);
    expect(starters.length).toBeGreaterThan(5);
    for (const [name, def] of starters) expect('result' in def, name).toBe(true);
  });

  it("jobs.wait(channel, jobId) gives a done job's result and rejects a failed one with its typed error", async () => {
    const jobs = new JobRunner(new EventBus());
    const ok = jobs.start('scan', 'scan', () => Promise.resolve({ scans: [] }));
    expect(await jobs.wait('checkpoints:scan', ok)).toEqual({ scans: [] });
    const failed = jobs.start('scan', 'scan', () => Promise.reject(new TureenError('conflict', 'changed')));
    await expect(jobs.wait('checkpoints:scan', failed)).rejects.toMatchObject({
      code: 'conflict',
      message: 'changed',
    });
    const cancelled = jobs.start('scan', 'scan', async (job) => {
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      job.throwIfCancelled();
    });
    jobs.cancel(cancelled);
    await expect(jobs.wait('checkpoints:scan', cancelled)).rejects.toMatchObject({ code: 'cancelled' });
    expect((await jobs.wait(failed)).state).toBe('failed');
  });

  it('rejects an unknown channel with a typed error', async () => {
    kitchen = tempKitchen().kitchen;
    const error = await rejection(kitchen.invoke('kitchens:explode', {}));
    expect(error.code).toBe('unknown_channel');
    expect(error.message).toContain('kitchens:explode');
  });

  it('rejects a payload of the wrong type and names the field path', async () => {
    kitchen = tempKitchen().kitchen;
    const error = await rejection(kitchen.invoke('kitchens:register', { path: 42 }));
    expect(error.code).toBe('bad_request');
    expect(error.detail).toMatchObject({ issues: [{ path: 'path' }] });
    expect(error.message).toContain('path:');
  });

  it('rejects an empty path and a non-integer id', async () => {
    kitchen = tempKitchen().kitchen;
    expect((await rejection(kitchen.invoke('kitchens:register', { path: '' }))).detail).toMatchObject({
      issues: [{ path: 'path', message: 'path must not be empty' }],
    });
    expect((await rejection(kitchen.invoke('kitchens:remove', { id: 1.5 }))).code).toBe('bad_request');
    expect((await rejection(kitchen.invoke('jobs:get', {}))).detail).toMatchObject({
      issues: [{ path: 'jobId' }],
    });
  });

  it('treats a missing payload as an empty request', async () => {
    kitchen = tempKitchen().kitchen;
    await expect(kitchen.invoke('kitchens:list', undefined)).resolves.toEqual({ kitchens: [] });
  });

  it('answers app:info with a response that satisfies its own schema', async () => {
    kitchen = tempKitchen().kitchen;
    const info = await kitchen.invoke('app:info', {});
    expect(api['app:info'].response.safeParse(info).success).toBe(true);
    expect(
      (info as { executionProviders: Array<{ name: string; available: boolean }> }).executionProviders,
    ).toContainEqual(expect.objectContaining({ name: 'cpu', available: true }));
  });

  it('says the folder picker is desktop-only outside Electron', async () => {
    kitchen = tempKitchen().kitchen;
    expect((await rejection(kitchen.invoke('dialog:pickFolder', {}))).code).toBe('not_supported');
  });
});
