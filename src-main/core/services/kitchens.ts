import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import { readRecipe } from '../checkpoints/recipe.js';
import type { RegisteredKitchen } from '../store/kitchen-store.js';
import {
  deleteKitchen,
  insertKitchen,
  kitchenByPath,
  listKitchens as storedKitchens,
} from '../store/kitchen-store.js';
import { deleteSetting, getSetting, setSetting } from '../store/settings-store.js';
import { familyPickOf } from '../../common/api/family-pick.js';
import type { Handlers, ServiceContext } from '../service.js';
import { isReallyWithin, isWithin, realPathOf } from '../within.js';

export function listKitchens(ctx: ServiceContext): RegisteredKitchen[] {
  return storedKitchens(ctx.db).map((k) => ({ ...k, ema: getSetting(ctx.db, emaSetting(k.id)) === 'true' }));
}

/** The settings key of a kitchen's EMA default (key/value settings: no schema change for one flag). */
const emaSetting = (id: number) => `kitchen.${id}.ema`;

/**
 * What a request that opens checkpoints picks (FamilyPick): its own `family`/`ema`, and without `ema` the
 * EMA default of the kitchen every input lies in ('prefer': EMA weights where a checkpoint has them).
 */
export function familyPickFor(
  ctx: ServiceContext,
  req: { family?: string | undefined; ema?: boolean | undefined },
  inputs: readonly string[],
): { family?: string; ema?: boolean | 'prefer' } {
  const pick = familyPickOf(req);
  if (req.ema !== undefined || inputs.length === 0) return pick;
  const kitchen = listKitchens(ctx).find((k) => inputs.every((f) => isWithin(k.path, path.resolve(f))));
  return kitchen?.ema ? { ...pick, ema: 'prefer' } : pick;
}

/** Resolve and check a folder the user wants to register; the error says what is wrong and what to do. */
function checkKitchenFolder(input: string): string {
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

/** Folders whose whole tree belongs to the operating system: never checkpoints, often secrets. */
const SYSTEM_TREES = [
  '/etc',
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/run',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/usr',
  '/private/etc',
  '/System',
];

/** Folders shared by everything below them; a folder inside one is fine, the folder itself is not. */
const SHARED_FOLDERS = [
  '/var',
  '/tmp',
  '/opt',
  '/srv',
  '/mnt',
  '/media',
  '/private',
  '/private/var',
  '/private/tmp',
];

/**
 * A registered folder is everything serve mode may read, so it must be a folder of checkpoints, not the
 * filesystem root, a system folder, a shared top-level folder, or the home folder (or above it), where
 * SSH keys and browser profiles would become readable over HTTP. A subfolder of home is fine.
 */
function refuseSystemFolder(real: string, what: string): void {
  const home = realPathOf(os.homedir());
  const reason =
    path.parse(real).root === real
      ? 'the filesystem root'
      : SYSTEM_TREES.some((tree) => isWithin(tree, real))
        ? 'a system folder'
        : SHARED_FOLDERS.includes(real)
          ? 'a shared system folder'
          : isWithin(real, home)
            ? real === home
              ? 'your home folder'
              : 'a folder above your home folder'
            : null;
  if (reason) {
    throw new TureenError(
      'bad_request',
      `${real} is ${reason}, not ${what}; choose the folder that holds your checkpoints`,
      { path: real },
    );
  }
}

function registerKitchen(
  ctx: ServiceContext,
  input: string,
  name?: string,
  isDemo = false,
): RegisteredKitchen {
  const folder = checkKitchenFolder(input);
  // The shipped demo may live under /usr or /opt in an installed app; it is Tureen's own folder.
  if (!isDemo) refuseSystemFolder(folder, 'a kitchen');
  const existing = kitchenByPath(ctx.db, folder);
  if (existing) {
    throw new TureenError('conflict', `${folder} is already registered as "${existing.name}"`, {
      path: folder,
      id: existing.id,
    });
  }
  const kitchen = insertKitchen(ctx.db, folder, name ?? path.basename(folder), isDemo);
  ctx.events.emit('kitchens:changed', { reason: `registered ${folder}` });
  return kitchen;
}

/**
 * The registered folder a path lies in, or an error: serve mode reads only inside registered kitchens. The
 * path is checked with its symlinks resolved (the nearest existing ancestor for a file not yet written), so
 * a link inside a kitchen that points elsewhere does not count as inside.
 */
function kitchenContaining(ctx: ServiceContext, file: string): RegisteredKitchen {
  const target = path.resolve(file);
  const real = realPathOf(target);
  for (const kitchen of listKitchens(ctx)) if (isReallyWithin(kitchen.path, target)) return kitchen;
  throw new TureenError(
    'unauthorized',
    real === target
      ? `${target} is outside every registered kitchen; register its folder first`
      : `${target} leads to ${real}, outside every registered kitchen; register that folder first`,
    { path: target },
  );
}

/** Serve mode reads only inside registered kitchens; the desktop app and the CLI read what the user names. */
export function checkReadable(ctx: ServiceContext, file: string): string {
  const absolute = path.resolve(file);
  if (ctx.transport === 'http') kitchenContaining(ctx, absolute);
  return absolute;
}

/** Whether a path (symlinks resolved) lies in Tureen's own data folder. */
function inDataFolder(ctx: ServiceContext, file: string): boolean {
  return isReallyWithin(ctx.paths.dataDir, file);
}

/**
 * Serve mode writes (soups, reports, cached logits) only inside a registered kitchen or Tureen's own data
 * folder, where the UI proposes to save them; the desktop app and the CLI write where the user says.
 */
export function checkWritable(ctx: ServiceContext, file: string): string {
  const absolute = path.resolve(file);
  if (ctx.transport !== 'http' || inDataFolder(ctx, absolute)) return absolute;
  try {
    kitchenContaining(ctx, absolute);
  } catch {
    const real = realPathOf(absolute);
    const where = real === absolute ? absolute : `${absolute} (a link to ${real})`;
    throw new TureenError(
      'unauthorized',
      `${where} is outside every registered kitchen and outside Tureen's data folder (${ctx.paths.dataDir}); save there or register the target folder`,
      { path: absolute },
    );
  }
  return absolute;
}

/**
 * A recipe names files of its own: replaying it reads every ingredient (and a merge method's base) and,
 * unless other outputs are given, writes where it was first written. Each is checked like a path in the request.
 */
export function checkRecipeReplay(
  ctx: ServiceContext,
  recipeFile: string,
  outputs: readonly string[] | undefined,
): void {
  const file = checkReadable(ctx, recipeFile);
  if (ctx.transport !== 'http') return;
  const recipe = readRecipe(file);
  for (const ingredient of recipe.ingredients) checkReadable(ctx, ingredient.path);
  if (recipe.base) checkReadable(ctx, recipe.base.path);
  // The same resolution the replay uses for the recipe's recorded outputs.
  const targets = outputs?.length ? outputs : recipe.outputs.map((o) => o.path);
  for (const target of targets) checkWritable(ctx, target);
}

/**
 * Where cached logits may go. The desktop app and the CLI take the folder the user picked, serve mode only
 * Tureen's data folder or a registered kitchen; never the filesystem root or a system folder.
 */
export function checkCacheFolder(ctx: ServiceContext, dir: string): string {
  const absolute = checkWritable(ctx, dir);
  refuseSystemFolder(realPathOf(absolute), 'a folder for cached logits');
  return absolute;
}

/**
 * On the very first start, register the shipped demo kitchens so a new user has something to cook: the
 * default demo (resources/demo-soup, a sweep in the regime where soups work) and, when it ships beside it,
 * resources/demo (the same task as a sweep that does not soup). Kitchens are listed by name and the
 * workbench opens the first, so the default's name must sort first.
 */
export function registerDemoOnFirstStart(ctx: ServiceContext): void {
  if (getSetting(ctx.db, 'demo_offered') !== null || !ctx.paths.demoKitchen) return;
  setSetting(ctx.db, 'demo_offered', new Date().toISOString());
  if (!fs.existsSync(ctx.paths.demoKitchen)) return;
  const real = fs.realpathSync(ctx.paths.demoKitchen);
  const demos = [{ folder: real, name: 'Demo kitchen (Fashion-MNIST ViT, LP-FT sweep)' }];
  const beside = path.join(path.dirname(real), 'demo');
  if (path.basename(real) === 'demo-soup' && fs.existsSync(beside))
    demos.push({
      folder: fs.realpathSync(beside),
      name: 'Demo kitchen (Fashion-MNIST ViT, sweep that does not soup)',
    });
  for (const demo of demos)
    if (!kitchenByPath(ctx.db, demo.folder)) registerKitchen(ctx, demo.folder, demo.name, true);
}

export function kitchenHandlers(
  ctx: ServiceContext,
): Handlers<'kitchens:list' | 'kitchens:register' | 'kitchens:setEma' | 'kitchens:remove'> {
  return {
    'kitchens:list': () => ({ kitchens: listKitchens(ctx) }),
    'kitchens:register': (req) => registerKitchen(ctx, req.path, req.name),
    'kitchens:setEma': (req) => {
      const kitchen = listKitchens(ctx).find((k) => k.id === req.id);
      if (!kitchen) throw new TureenError('not_found', `no kitchen with id ${req.id}`, { id: req.id });
      setSetting(ctx.db, emaSetting(req.id), req.ema ? 'true' : 'false');
      ctx.events.emit('kitchens:changed', { reason: `${kitchen.name}: ${req.ema ? 'EMA' : 'raw'} weights` });
      return { ...kitchen, ema: req.ema };
    },
    'kitchens:remove': (req) => {
      if (!deleteKitchen(ctx.db, req.id))
        throw new TureenError('not_found', `no kitchen with id ${req.id}`, { id: req.id });
      // ids can be reused by the next registration: its settings must not outlive it
      deleteSetting(ctx.db, emaSetting(req.id));
      ctx.events.emit('kitchens:changed', { reason: `removed kitchen ${req.id}` });
      return { removed: true };
    },
  };
}
