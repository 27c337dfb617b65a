import type { Component } from 'svelte';
import type { AppInfo } from '../lib/types';
import AdvisorView from './AdvisorView.svelte';
import CompareView from './CompareView.svelte';
import CookView from './CookView.svelte';
import EvalSetsView from './EvalSetsView.svelte';
import EvaluateView from './EvaluateView.svelte';
import KitchensView from './KitchensView.svelte';
import ReportView from './ReportView.svelte';

interface ViewEntry {
  route: string;
  label: string;
  component: Component<{ info: AppInfo | null }>;
}

/** The navigation, in the order a researcher works: register, evaluate, advise, cook, compare, report. */
export const views: ViewEntry[] = [
  { route: 'kitchens', label: 'Kitchens', component: KitchensView },
  { route: 'evalsets', label: 'Eval sets', component: EvalSetsView },
  { route: 'evaluate', label: 'Evaluate', component: EvaluateView },
  { route: 'advisor', label: 'Advisor', component: AdvisorView },
  { route: 'cook', label: 'Cook', component: CookView },
  { route: 'compare', label: 'Compare', component: CompareView },
  { route: 'report', label: 'Report', component: ReportView },
];
