import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { KitchenSummary } from '../../common/api/kitchens.js';
import { TureenError } from '../../common/errors.js';
import { getSetting, setSetting } from '../store/database.js';
import type { Handlers, ServiceContext } from '../service.js';

type Kitchen = z.output<typeof KitchenSummary>;
interface KitchenRow {
  id: number;
  path: string;
  name: string;
  added_at: string;
  is_demo: number;
}

const toSummary = (row: KitchenRow): Kitchen => ({
  id: row.id,
  path: row.path,
  name: row.name,
  addedAt: row.added_at,
  isDemo: row.is_demo === 1,
});

export function listKitchens(ctx: ServiceContext): Kitchen[] {
  const rows = ctx.db
    .prepare('SELECT * FROM kitchens ORDER BY name COLLATE NOCASE, id')
    .all() as KitchenRow[];
  return rows.map(toSummary);
}

/** Resolve and check a folder the user wants to register; the error says what is wrong and what to do. */
export function checkKitchenFolder(input: string): string {
  const absolute = path.resolve(input.trim());
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch {
    throw new TureenError('not_found', `folder ${absolute} does not exist; check the path`, {
      path: absolute,
    });
  }
  if (!stat.isDirectory()) {
    throw new TureenError(
      'bad_request',
      `${absolute} is a file, not a folder; register the folder that holds it`,
      {
        path: absolute,
      },
    );
  }
  try {
    fs.accessSync(absolute, fs.constants.R_OK | fs.constants.X_OK);
    fs.readdirSync(absolute);
  } catch {
    throw new TureenError('io_error', `folder ${absolute} is not readable; check its permissions`, {
      path: absolute,
    });
  }
  return fs.realpathSync(absolute);
}

export function registerKitchen(ctx: ServiceContext, input: string, name?: string, isDemo = false): Kitchen {
  const folder = checkKitchenFolder(input);
  const existing = ctx.db.prepare('SELECT * FROM kitchens WHERE path = ?').get(folder) as
    KitchenRow | undefined;
  if (existing) {
    throw new TureenError('conflict', `${folder} is already registered as "${existing.name}"`, {
      path: folder,
      id: existing.id,
    });
  }
  const info = ctx.db
    .prepare('INSERT INTO kitchens (path, name, added_at, is_demo) VALUES (?, ?, ?, ?)')
    .run(folder, name ?? path.basename(folder), new Date().toISOString(), isDemo ? 1 : 0);
  const row = ctx.db.prepare('SELECT * FROM kitchens WHERE id = ?').get(info.lastInsertRowid) as KitchenRow;
  ctx.events.emit('kitchens:changed', { reason: `registered ${folder}` });
  return toSummary(row);
}

/** The folder a path belongs to, or an error: serve mode reads only inside registered kitchens. */
export function kitchenContaining(ctx: ServiceContext, file: string): Kitchen {
  const target = path.resolve(file);
  const real = fs.existsSync(target) ? fs.realpathSync(target) : target;
  for (const kitchen of listKitchens(ctx)) {
    const rel = path.relative(kitchen.path, real);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return kitchen;
  }
  throw new TureenError(
    'unauthorized',
    `${target} is outside every registered kitchen; register its folder first`,
    {
      path: target,
    },
  );
}

/** Serve mode reads only inside registered kitchens; the desktop app and the CLI read what the user names. */
export function checkReadable(ctx: ServiceContext, file: string): string {
  const absolute = path.resolve(file);
  if (ctx.transport === 'http') kitchenContaining(ctx, absolute);
  return absolute;
}

/**
 * Serve mode writes (soups, reports) only inside a registered kitchen or Tureen's own data folder, where the
 * UI proposes to save them; the desktop app and the CLI write where the user says.
 */
export function checkWritable(ctx: ServiceContext, file: string): string {
  const absolute = path.resolve(file);
  if (ctx.transport !== 'http') return absolute;
  const dataDir = fs.existsSync(ctx.paths.dataDir) ? fs.realpathSync(ctx.paths.dataDir) : ctx.paths.dataDir;
  const parent = path.dirname(absolute);
  const realParent = fs.existsSync(parent) ? fs.realpathSync(parent) : parent;
  const rel = path.relative(dataDir, path.join(realParent, path.basename(absolute)));
  if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return absolute;
  try {
    kitchenContaining(ctx, absolute);
  } catch {
    throw new TureenError(
      'unauthorized',
      `${absolute} is outside every registered kitchen and outside Tureen's data folder (${ctx.paths.dataDir}); save there or register the target folder`,
      { path: absolute },
    );
  }
  return absolute;
}

/** On the very first start, register the shipped demo kitchen so a new user has something to cook. */
export function registerDemoOnFirstStart(ctx: ServiceContext): void {
  if (getSetting(ctx.db, 'demo_offered') !== null || !ctx.paths.demoKitchen) return;
  setSetting(ctx.db, 'demo_offered', new Date().toISOString());
  if (!fs.existsSync(ctx.paths.demoKitchen)) return;
  const real = fs.realpathSync(ctx.paths.demoKitchen);
  if (ctx.db.prepare('SELECT 1 FROM kitchens WHERE path = ?').get(real)) return;
  registerKitchen(ctx, real, 'Demo kitchen (Fashion-MNIST ViT sweep)', true);
}

export function kitchenHandlers(
  ctx: ServiceContext,
): Handlers<'kitchens:list' | 'kitchens:register' | 'kitchens:remove'> {
  return {
    'kitchens:list': () => ({ kitchens: listKitchens(ctx) }),
    'kitchens:register': (req) => registerKitchen(ctx, req.path, req.name),
    'kitchens:remove': (req) => {
      const info = ctx.db.prepare('DELETE FROM kitchens WHERE id = ?').run(req.id);
      if (info.changes === 0)
        throw new TureenError('not_found', `no kitchen with id ${req.id}`, { id: req.id });
      ctx.events.emit('kitchens:changed', { reason: `removed kitchen ${req.id}` });
      return { removed: true };
    },
  };
}
