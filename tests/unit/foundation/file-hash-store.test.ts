import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedSha256 } from '../../../src-main/core/checkpoints/hashing.js';
import { openDatabase } from '../../../src-main/core/store/database.js';
import { storeHash, storedHash } from '../../../src-main/core/store/file-hash-store.js';
import { tempDir } from './helpers.js';

describe('file hash cache (store/file-hash-store.ts)', () => {
  it('stores a hash with the stamp it was computed for, reuses it while the stamp holds, and recomputes after', async () => {
    const dir = tempDir('tureen-hashes-');
    const db = openDatabase(path.join(dir, 'tureen.db'));
    try {
      const file = path.join(dir, 'weights.bin');
      fs.writeFileSync(file, 'first');
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');

      expect(await cachedSha256(file, db)).toBe(sha('first'));
      const stat = fs.statSync(file);
      expect(storedHash(db, file)).toEqual({ size: stat.size, mtimeMs: stat.mtimeMs, sha256: sha('first') });

      // while size and mtime hold, the stored value is the answer (the file is not read again)
      storeHash(db, file, { size: stat.size, mtimeMs: stat.mtimeMs, sha256: 'f'.repeat(64) });
      expect(await cachedSha256(file, db)).toBe('f'.repeat(64));

      // same size, another mtime: read again
      fs.writeFileSync(file, 'again');
      fs.utimesSync(file, stat.atime, new Date(stat.mtimeMs + 5000));
      expect(await cachedSha256(file, db)).toBe(sha('again'));
      expect(storedHash(db, file)?.sha256).toBe(sha('again'));
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
