import type { Migration } from '../migration.js';

export const checkpointsMigration: Migration = {
  version: 2,
  name: 'checkpoints, scan reports and file hashes',
  up(db) {
    db.exec(`
      CREATE TABLE file_hashes (
        path     TEXT PRIMARY KEY,
        size     INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        sha256   TEXT NOT NULL
      );
      CREATE TABLE checkpoints (
        id              INTEGER PRIMARY KEY,
        root            TEXT NOT NULL,
        kitchen_id      INTEGER REFERENCES kitchens(id) ON DELETE CASCADE,
        path            TEXT NOT NULL,
        format          TEXT NOT NULL,
        bytes           INTEGER NOT NULL,
        params          INTEGER NOT NULL,
        dtype           TEXT NOT NULL,
        family_id       TEXT,
        is_base         INTEGER NOT NULL DEFAULT 0,
        sha256          TEXT,
        hyperparameters TEXT NOT NULL DEFAULT '{}',
        summary         TEXT,
        stamps          TEXT NOT NULL,
        error           TEXT,
        scanned_at      TEXT NOT NULL,
        UNIQUE (root, path)
      );
      CREATE INDEX checkpoints_kitchen ON checkpoints(kitchen_id);
      CREATE TABLE scan_reports (
        root       TEXT PRIMARY KEY,
        kitchen_id INTEGER REFERENCES kitchens(id) ON DELETE CASCADE,
        report     TEXT NOT NULL,
        scanned_at TEXT NOT NULL
      );
    `);
  },
};
