import type { Migration } from '../migration.js';

/**
 * Eval-set hashes before this version left out the transform (mean, std, scale, channel axis), so two sets
 * with the same pixels and different normalisation shared evaluations and cached logits. Every stored
 * evaluation, eval-set row and comparison built from them may hold another set's numbers: they are removed
 * and recomputed on the next run (the logits cache moved to a new key scheme, so old files are never read).
 * Recipes stay: they describe files that were written, not metrics.
 */
export const contentKeysMigration: Migration = {
  version: 4,
  name: 'eval-set hashes cover transforms: drop evaluations keyed by the old hashes',
  up(db) {
    db.exec(`
      DELETE FROM evaluations;
      DELETE FROM evalsets;
      DELETE FROM comparisons;
    `);
  },
};
