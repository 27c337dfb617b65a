/** Plain data the chart components take as props; the views and the report fill them from the API. */

/** What a point on a robustness chart is; decides its marker, colour and legend entry. */
export type ModelKind =
  'ingredient' | 'base' | 'uniform' | 'greedy' | 'learned' | 'ensemble' | 'greedy_ensemble' | 'interpolation';

/** One model's accuracies (fractions in [0, 1]) on the named eval sets. */
export interface ModelScore {
  key: string;
  label: string;
  kind: ModelKind;
  /** accuracy on the in-distribution test set (x of Figure 1) */
  id: number | null;
  /** mean accuracy over the shift sets (y of Figure 1) */
  shiftMean: number | null;
  /** accuracy per shift set name */
  shifts: Record<string, number | null>;
  /** forward passes per prediction: 1 for a model or soup, N for an ensemble of N */
  cost: number;
  /** the best single model on the held-out set gets a ring */
  best?: boolean;
}

export interface GreedyStep {
  /** 0 is the starting ingredient */
  step: number;
  candidate: string;
  /** held-out accuracy of the soup with this candidate added */
  heldout: number;
  accepted: boolean;
}

/** Test accuracy of the greedy soup after each accepted ingredient. */
export interface GreedyProgress {
  models: number;
  id: number | null;
  shiftMean: number | null;
}

export interface InterpolationPoint {
  alpha: number;
  /** accuracy per eval set name */
  sets: Record<string, number | null>;
}

export interface EvalSetRef {
  name: string;
  role: 'holdout' | 'id' | 'shift';
  n: number | null;
}

export interface SimilarityMatrix {
  labels: string[];
  /** symmetric, 1 on the diagonal for cosine, 0 for angle */
  values: number[][];
  metric: 'cosine' | 'angle';
  /** what the vectors are: task vectors against a base, or the raw weights */
  against: string;
}

export interface HyperparameterColumn {
  name: string;
  /** one value per matrix label, in the same order */
  values: Array<string | number | boolean | null>;
}

export interface Coefficient {
  label: string;
  value: number;
}

export interface LossPoint {
  /** evaluation count of the optimiser */
  step: number;
  loss: number;
}
