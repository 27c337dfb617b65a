import type { Migration } from '../migration.js';

export const kitchensMigration: Migration = {
  version: 1,
  name: 'kitchens and settings',
  up(db) {
    db.exec(`
      CREATE TABLE kitchens (
        id       INTEGER PRIMARY KEY,
        path     TEXT NOT NULL UNIQUE,
        name     TEXT NOT NULL,
        added_at TEXT NOT NULL,
        is_demo  INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `);
  },
};
