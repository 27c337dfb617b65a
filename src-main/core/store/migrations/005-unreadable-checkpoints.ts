import type { Migration } from '../migration.js';

/**
 * A scan stores a checkpoint it cannot read with its reason and no format (a truncated file has none to
 * name). `format` was NOT NULL, so one damaged file failed the whole scan with a constraint error naming no
 * file. SQLite cannot drop a NOT NULL in place: the table is copied into one that allows NULL.
 */
export const unreadableCheckpointsMigration: Migration = {
  version: 5,
  name: 'checkpoints.format may be NULL (unreadable checkpoints are stored with their reason)',
  up(db) {
    db.exec(`
      CREATE TABLE checkpoints_v5 (
        id              INTEGER PRIMARY KEY,
        root            TEXT NOT NULL,
        kitchen_id      INTEGER REFERENCES kitchens(id) ON DELETE CASCADE,
        path            TEXT NOT NULL,
        format          TEXT,
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
      INSERT INTO checkpoints_v5 SELECT id, root, kitchen_id, path, format, bytes, params, dtype, family_id,
        is_base, sha256, hyperparameters, summary, stamps, error, scanned_at FROM checkpoints;
      DROP TABLE checkpoints;
      ALTER TABLE checkpoints_v5 RENAME TO checkpoints;
      CREATE INDEX checkpoints_kitchen ON checkpoints(kitchen_id);
    `);
  },
};
