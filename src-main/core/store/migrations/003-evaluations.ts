import type { Migration } from '../migration.js';

/** Eval sets seen, roles set in the app, evaluations with provenance, recipes, and comparison tables. */
export const evaluationsMigration: Migration = {
  version: 3,
  name: 'eval sets, evaluations, recipes, comparisons',
  up(db) {
    db.exec(`
      CREATE TABLE evalset_roles (
        path       TEXT PRIMARY KEY,
        role       TEXT NOT NULL CHECK (role IN ('holdout', 'id', 'shift')),
        updated_at TEXT NOT NULL
      );
      CREATE TABLE evalsets (
        path         TEXT PRIMARY KEY,
        hash         TEXT NOT NULL,
        name         TEXT NOT NULL,
        file_role    TEXT,
        n            INTEGER NOT NULL,
        inputs       TEXT NOT NULL,
        transform    TEXT NOT NULL,
        class_subset TEXT,
        label_counts TEXT NOT NULL,
        bytes        INTEGER NOT NULL,
        mtime_ms     REAL NOT NULL,
        seen_at      TEXT NOT NULL
      );
      CREATE TABLE evaluations (
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
        nll           REAL NOT NULL,
        ece           REAL NOT NULL,
        per_class     TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        UNIQUE (model_hash, evalset_hash, provider, ort_version)
      );
      CREATE INDEX evaluations_by_path ON evaluations (model_path);
      CREATE TABLE recipes (
        id           INTEGER PRIMARY KEY,
        method       TEXT NOT NULL,
        label        TEXT NOT NULL,
        folder       TEXT,
        weights_hash TEXT,
        document     TEXT NOT NULL,
        created_at   TEXT NOT NULL
      );
      CREATE TABLE comparisons (
        id         INTEGER PRIMARY KEY,
        folders    TEXT NOT NULL,
        document   TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `);
  },
};
