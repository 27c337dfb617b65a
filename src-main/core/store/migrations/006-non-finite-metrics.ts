import type { Migration } from '../migration.js';

/**
 * A model whose logits hold NaN or ±Inf (overflowing weights, NaN pixels) has no NLL or ECE, and SQLite
 * stores a NaN as NULL, so `tureen eval` ended in "NOT NULL constraint failed: evaluations.nll". NLL and ECE
 * may now be NULL, and `non_finite` counts the examples whose logits were not finite (0 for every row
 * stored before: NOT NULL held, so they were all finite). SQLite cannot drop a NOT NULL in place: the table
 * is copied into one that allows NULL.
 */
export const nonFiniteMetricsMigration: Migration = {
  version: 6,
  name: 'evaluations: nll and ece may be NULL; non_finite counts examples with NaN or ±Inf logits',
  up(db) {
    db.exec(`
      CREATE TABLE evaluations_v6 (
        id            INTEGER PRIMARY KEY,
        model_hash    TEXT NOT NULL,
        model_label   TEXT NOT NULL,
        model_path    TEXT,
        model_kind    TEXT NOT NULL,
        evalset_hash  TEXT NOT NULL,
        evalset_name  TEXT NOT NULL,
        evalset_path  TEXT NOT NULL,
        provider      TEXT NOT NULL,
        ort_version   TEXT NOT NULL,
        batch_size    INTEGER NOT NULL,
        threads       INTEGER,
        duration_ms   REAL NOT NULL,
        n             INTEGER NOT NULL,
        correct       INTEGER NOT NULL,
        top1          REAL NOT NULL,
        top5          REAL,
        nll           REAL,
        ece           REAL,
        non_finite    INTEGER NOT NULL DEFAULT 0,
        per_class     TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        UNIQUE (model_hash, evalset_hash, provider, ort_version)
      );
      INSERT INTO evaluations_v6 (id, model_hash, model_label, model_path, model_kind, evalset_hash, evalset_name,
        evalset_path, provider, ort_version, batch_size, threads, duration_ms, n, correct, top1, top5, nll, ece,
        per_class, created_at)
      SELECT id, model_hash, model_label, model_path, model_kind, evalset_hash, evalset_name, evalset_path,
        provider, ort_version, batch_size, threads, duration_ms, n, correct, top1, top5, nll, ece, per_class,
        created_at FROM evaluations;
      DROP TABLE evaluations;
      ALTER TABLE evaluations_v6 RENAME TO evaluations;
      CREATE INDEX evaluations_by_path ON evaluations (model_path);
    `);
  },
};
