import { afterEach, describe, expect, it } from 'vitest';
import { api, events } from '../../../src-main/common/api.js';
import { TureenError } from '../../../src-main/common/errors.js';
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
