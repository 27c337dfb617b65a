/** Domain types the views use, read off the API contract's schemas (type-only imports). */
import type { z } from 'zod';
import type {
  CheckpointSummary,
  FamilySummary,
  MismatchSchema,
  ScanResult as ScanResultSchema,
} from '../../src-main/common/api/checkpoints.js';
import type { EvalSetSummary, LeakageWarning } from '../../src-main/common/api/evalsets.js';
import type { EvaluationRecord } from '../../src-main/common/api/evaluations.js';
import type {
  CompareTable as CompareTableSchema,
  CookResult as CookResultSchema,
  GreedyStep as GreedyStepSchema,
  Recipe as RecipeSchema,
  RecipeMethod as RecipeMethodSchema,
  recipesEvents,
} from '../../src-main/common/api/recipes.js';

export type EvalSet = z.output<typeof EvalSetSummary>;
export type EvalRole = NonNullable<EvalSet['role']>;
export type Leakage = z.output<typeof LeakageWarning>;
export type Evaluation = z.output<typeof EvaluationRecord>;
export type RecipeMethod = z.output<typeof RecipeMethodSchema>;
export type Recipe = z.output<typeof RecipeSchema>;
export type GreedyStep = z.output<typeof GreedyStepSchema>;
/** one finished greedy step, published while the job runs */
export type GreedyStepEvent = z.output<(typeof recipesEvents)['recipes:step']['payload']>;
export type CookResult = z.output<typeof CookResultSchema>;
export type ApiCompareTable = z.output<typeof CompareTableSchema>;
export type Checkpoint = z.output<typeof CheckpointSummary>;
export type Family = z.output<typeof FamilySummary>;
export type Mismatch = z.output<typeof MismatchSchema>;
export type ScanResult = z.output<typeof ScanResultSchema>;
