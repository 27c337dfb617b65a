import fs from 'node:fs';
import path from 'node:path';

/**
 * Whether `candidate` is `root` itself or lies below it, comparing the paths as written (both resolved
 * against the working directory). A child named `..x` is inside: only a first segment that is exactly
 * `..` climbs out. Symlinks are not followed; compare `realPathOf` results for that.
 */
export function isWithin(root: string, candidate: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(candidate));
  if (rel === '') return true;
  if (path.isAbsolute(rel)) return false; // another drive on Windows
  return rel !== '..' && !rel.startsWith(`..${path.sep}`);
}

/**
 * The path the operating system would reach, with every symlink resolved, also for a file that does not
 * exist yet: the real path of its nearest existing ancestor, with the missing rest appended. Checking this
 * (not the path as written) is what stops a link inside an allowed folder from leading a write outside it.
 */
export function realPathOf(file: string): string {
  const absolute = path.resolve(file);
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return path.join(fs.realpathSync(existing), ...missing);
    } catch {
      // Missing, not a folder, unreadable or a link loop: the OS cannot follow it either, so the part
      // below the nearest ancestor it can resolve is taken as written.
      const parent = path.dirname(existing);
      if (parent === existing) return absolute;
      missing.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

/** `isWithin` after resolving symlinks in both paths (the nearest existing ancestor of each). */
export function isReallyWithin(root: string, candidate: string): boolean {
  return isWithin(realPathOf(root), realPathOf(candidate));
}
