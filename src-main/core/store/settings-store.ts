import type { Database } from 'better-sqlite3';

/** Key/value settings that outlive a session (the logits cache folder, whether the demo was offered). */
export function getSetting(db: Database, key: string): string | null {
  const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as
    { value: string } | undefined;
  return row?.value ?? null;
}

export function setSetting(db: Database, key: string, value: string): void {
  db.prepare(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  ).run(key, value);
}

export function deleteSetting(db: Database, key: string): void {
  db.prepare('DELETE FROM settings WHERE key = ?').run(key);
}
