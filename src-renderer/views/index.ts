import type { Component } from 'svelte';
import type { AppInfo } from '../lib/types';
import KitchensView from './KitchensView.svelte';

export interface ViewEntry {
  route: string;
  label: string;
  component: Component<{ info: AppInfo | null }>;
}

/** The navigation, in the order a researcher works: register, evaluate, cook, compare, report. */
export const views: ViewEntry[] = [{ route: 'kitchens', label: 'Kitchens', component: KitchensView }];
