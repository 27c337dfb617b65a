import { z } from 'zod';
import { channel, jobChannel } from '../contract.js';
import { KitchenSummary } from './kitchens.js';
import { CompareTable, CookResult } from './recipes.js';

export const PaperSize = z.enum(['A4', 'Letter']);

/** One ingredient as the report lists it (the comparison's ingredient rows plus their hashes). */
export const ReportIngredient = z.object({
  label: z.string(),
  /** as the comparison names it (relative to its first folder) */
  path: z.string(),
  absolutePath: z.string(),
  isBase: z.boolean(),
  sha256: z.string().nullable(),
  params: z.number().int().nullable(),
  hyperparameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

/** Test accuracy of the greedy soup made of its first k accepted ingredients (uniform average of them). */
export const GreedyPrefix = z.object({
  models: z.number().int().positive(),
  recipeId: z.number().int().nullable(),
  /** eval-set name → top-1 */
  top1: z.record(z.string(), z.number().nullable()),
});

export const SimilarityData = z.object({
  labels: z.array(z.string()),
  cosine: z.array(z.array(z.number())),
  angle: z.array(z.array(z.number())),
  /** e.g. "task vectors against base.onnx", or "weights" when there is no base */
  against: z.string(),
});

/** Everything a report shows, read from what is stored (never computed on the fly). */
export const ReportData = z.object({
  kitchen: KitchenSummary,
  generatedAt: z.string(),
  environment: z.object({
    tureen: z.string(),
    node: z.string(),
    onnxruntime: z.string(),
    sqlite: z.string(),
    electron: z.string().nullable(),
    platform: z.string(),
    /** execution provider and ORT version the comparison's evaluations ran with */
    provider: z.string().nullable(),
    comparisonOrtVersion: z.string().nullable(),
  }),
  /** the latest comparison of this kitchen's folder, null until one was run */
  compare: CompareTable.nullable(),
  /** the recipes behind the table's soups (greedy, learned, uniform) and the interpolation sweep */
  recipes: z.array(CookResult),
  greedyPrefixes: z.array(GreedyPrefix),
  interpolationRecipeId: z.number().int().nullable(),
  ingredients: z.array(ReportIngredient),
  similarity: SimilarityData.nullable(),
  /** what the report lacks and how to get it (e.g. "run `tureen report` to cook the interpolation") */
  missing: z.array(z.string()),
});

export const SavedPdf = z.object({
  /** where the PDF was written; null when the user cancelled the save dialog */
  path: z.string().nullable(),
  pages: z.number().int(),
  bytes: z.number().int(),
  /** the PDF itself (base64) when the client must offer it as a download (serve mode); else null */
  base64: z.string().nullable(),
});

export const reportsApi = {
  'reports:data': channel(
    "A kitchen's report: latest comparison, soup recipes, greedy steps, interpolation, ingredients, environment (stored results only)",
    z.object({ kitchenId: z.number().int().positive() }),
    ReportData,
  ),
  'reports:prepare': jobChannel(
    'Evaluate and cook what the report of a kitchen still lacks: the comparison, greedy-soup prefixes, an interpolation sweep (job; result ReportData)',
    z.object({
      kitchenId: z.number().int().positive(),
      /** learned-soup budget in held-out evaluations (0 leaves the learned soup out) */
      learnedBudget: z.number().int().min(0).max(5000).optional(),
      /** α grid of the interpolation sweep from the base to the greedy soup */
      alphas: z.array(z.number().min(-1).max(2)).min(2).optional(),
    }),
    ReportData,
  ),
  'reports:savePdf': channel(
    "Render a kitchen's report as a vector PDF: a save dialog in the desktop app; in serve mode written to the data folder and returned for download",
    z.object({
      kitchenId: z.number().int().positive(),
      paper: PaperSize.optional(),
      /** accuracy axes on a logit scale (WiSE-FT style) */
      logit: z.boolean().optional(),
    }),
    SavedPdf,
  ),
};
