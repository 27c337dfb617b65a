import { api } from './api';
import type { Kitchen } from './types';

/**
 * The registered kitchens, one list for every view: fetched once on first use and refreshed when the
 * service says they changed (`kitchens:changed`), instead of each view asking `kitchens:list` again.
 */
class Kitchens {
  list = $state<Kitchen[]>([]);
  /** the kitchen Evaluate, Cook, Compare and Advisor work on (one choice for the whole workbench) */
  selectedPath = $state('');
  loaded = $state(false);
  private first: Promise<void> | null = null;

  constructor() {
    api.on('kitchens:changed', () => void this.refresh().catch(() => undefined));
  }

  /** Resolves once the list was fetched (one request, however many views ask); rejects when it failed. */
  ready(): Promise<void> {
    this.first ??= this.refresh().catch((error: unknown) => {
      this.first = null; // the next view asks again
      throw error;
    });
    return this.first;
  }

  /** Fetch the list now (after a change this window made, before the event arrives). */
  async refresh(): Promise<void> {
    this.set((await api.call('kitchens:list', {})).kitchens);
  }

  /** Keeps the chosen kitchen valid when the list changes (first kitchen by default). */
  set(list: Kitchen[]): void {
    this.list = list;
    if (!list.some((k) => k.path === this.selectedPath)) this.selectedPath = list[0]?.path ?? '';
    this.loaded = true;
  }
}

export const kitchens = new Kitchens();
