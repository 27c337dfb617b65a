import type { Database } from 'better-sqlite3';
import { kitchensMigration } from './migrations/001-kitchens.js';
import { checkpointsMigration } from './migrations/002-checkpoints.js';
import { evaluationsMigration } from './migrations/003-evaluations.js';
import { contentKeysMigration } from './migrations/004-content-keys.js';
import { unreadableCheckpointsMigration } from './migrations/005-unreadable-checkpoints.js';
import { nonFiniteMetricsMigration } from './migrations/006-non-finite-metrics.js';
import type { Migration } from './migration.js';

/**
 * Every schema change, in order. Never edit a migration that has shipped: add a new one.
 * Domains add their migrations in ./migrations/<NNN>-<name>.ts and list them here.
 */
export const migrations: Migration[] = [
  kitchensMigration,
  checkpointsMigration,
  evaluationsMigration,
  contentKeysMigration,
  unreadableCheckpointsMigration,
  nonFiniteMetricsMigration,
];

export function latestVersion(list: readonly Migration[] = migrations): number {
  return list.reduce((max, m) => Math.max(max, m.version), 0);
}

/** Apply pending migrations, each in its own transaction, tracked by PRAGMA user_version. */
export function migrate(db: Database, list: readonly Migration[] = migrations): { from: number; to: number } {
  const sorted = [...list].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration versions must be 1..n without gaps; found ${m.version} at ${i + 1}`);
  });
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > sorted.length) {
    throw new Error(
      `database schema version ${from} is newer than this Tureen (${sorted.length}); update Tureen or use another --db`,
    );
  }
  for (const m of sorted.slice(from)) {
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to: sorted.length };
}
