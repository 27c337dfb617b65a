import { api } from './api';
import type { ApiCompareTable, Checkpoint, CookResult, EvalSet, Evaluation, GreedyStepEvent } from './domain';
import { addGreedyStep } from './greedy-live';
import { kitchens } from './kitchens.svelte';
import type { Kitchen } from './types';

/**
 * What the workbench views started in this window, kept across navigation: going to Compare and back to
 * Cook shows the same running job or recipe card instead of an empty form.
 */
class WorkbenchSession {
  scanJobId = $state<string | null>(null);
  evaluateJobId = $state<string | null>(null);
  lastEvaluation = $state<{ state: string; seconds: number; fresh: number; cached: number } | null>(null);
  cookJobId = $state<string | null>(null);
  cookResult = $state<CookResult | null>(null);
  cookFinishedAt = $state<string | null>(null);
  /** greedy steps published by running jobs (recipes:step), kept here so leaving Cook loses none */
  greedySteps = $state<GreedyStepEvent[]>([]);
  /** the two checkpoints of the last interpolation, for the curve's labels */
  interpolation = $state<{ from: string; to: string } | null>(null);
  saveJobId = $state<string | null>(null);
  saved = $state<Array<{ path: string; sha256: string }>>([]);
  compareJobId = $state<string | null>(null);
  /** last loaded data, shown at once when a view opens again while fresh data loads */
  compareTable = $state<ApiCompareTable | null>(null);
  evalsets = $state<EvalSet[]>([]);
  /** readable checkpoints of the last scan */
  checkpoints = $state<Checkpoint[]>([]);
  /** the registered kitchens and the chosen one live in lib/kitchens.svelte.ts; these read through */
  get kitchens(): Kitchen[] {
    return kitchens.list;
  }
  get kitchenPath(): string {
    return kitchens.selectedPath;
  }
  set kitchenPath(path: string) {
    kitchens.selectedPath = path;
  }
  setKitchens(list: Kitchen[]): void {
    kitchens.set(list);
  }
  evaluations = $state<Evaluation[]>([]);

  constructor() {
    api.on('recipes:step', (step) => (this.greedySteps = addGreedyStep(this.greedySteps, step)));
  }
}

export const session = new WorkbenchSession();
