/**
 * What an image folder holds, by torchvision `ImageFolder`'s rules: every subfolder is a class, classes
 * sorted by name are labels 0..K-1 (or, with a classes file, labels follow its lines), and each class's
 * images are found recursively, directories and files in sorted order. Sorting is by code point, as
 * Python's `sorted` on str does, so labels and example order match a PyTorch loader on the same folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../../common/errors.js';

/** torchvision's IMG_EXTENSIONS that Tureen decodes, plus GIF (first frame). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif'] as const;

export interface FolderExample {
  file: string;
  label: number;
}

export interface FolderProblem {
  path: string;
  reason: string;
}

export interface FolderListing {
  /** class folder names in label order */
  classes: string[];
  /** logit indices of the classes present, when a classes file names more classes than the folder has */
  classSubset: number[] | null;
  examples: FolderExample[];
  /** folders that could not be read, class folders without images */
  problems: FolderProblem[];
}

/** Python's str ordering: by code point, which UTF-8 byte order preserves. */
export function codePointCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

function readDirectory(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new TureenError('io_error', `cannot read folder ${dir}: ${(error as Error).message}`, {
      file: dir,
    });
  }
}

function isDirectory(entry: fs.Dirent, parent: string): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(parent, entry.name)).isDirectory();
  } catch {
    return false;
  }
}

/** os.walk(followlinks=True) sorted by directory, files sorted within each: the image files of one class. */
function walkImages(classDir: string, problems: FolderProblem[]): string[] {
  const perDirectory: Array<{ dir: string; files: string[] }> = [];
  const seen = new Set<string>();
  const visit = (dir: string) => {
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch (error) {
      problems.push({ path: dir, reason: `unreadable folder (${(error as Error).message})` });
      return;
    }
    if (seen.has(real)) return; // a link loop
    seen.add(real);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      problems.push({ path: dir, reason: `unreadable folder (${(error as Error).message})` });
      return;
    }
    const files: string[] = [];
    for (const entry of entries) {
      if (isDirectory(entry, dir)) visit(path.join(dir, entry.name));
      else if (isImageFile(entry.name)) files.push(entry.name);
    }
    perDirectory.push({ dir, files: files.sort(codePointCompare) });
  };
  visit(classDir);
  perDirectory.sort((a, b) => codePointCompare(a.dir, b.dir));
  return perDirectory.flatMap(({ dir, files }) => files.map((f) => path.join(dir, f)));
}

/** One class name per line, in label order; blank lines are ignored. */
export function readClassesFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new TureenError('not_found', `cannot read the classes file ${file}: ${(error as Error).message}`, {
      file,
    });
  }
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length === 0)
    throw new TureenError('bad_request', `${file} lists no class names (one per line)`, { file });
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (seen.has(name))
      throw new TureenError('bad_request', `${file}: class "${name}" is listed twice (line ${i + 1})`, {
        file,
      });
    seen.add(name);
  });
  return names;
}

export function listImageFolder(root: string, classesInOrder?: readonly string[]): FolderListing {
  const stat = fs.statSync(root, { throwIfNoEntry: false });
  if (!stat?.isDirectory())
    throw new TureenError(
      'not_found',
      `${root} is not a folder (an image folder has one subfolder per class)`,
      {
        file: root,
      },
    );
  const folders = readDirectory(root)
    .filter((e) => isDirectory(e, root))
    .map((e) => e.name)
    .sort(codePointCompare);
  if (folders.length === 0)
    throw new TureenError(
      'bad_request',
      `${root} has no class subfolders (expected <folder>/<class>/<image>)`,
      {
        file: root,
      },
    );

  let classes: string[];
  let classSubset: number[] | null = null;
  if (classesInOrder) {
    const unknown = folders.filter((f) => !classesInOrder.includes(f));
    if (unknown.length)
      throw new TureenError(
        'bad_request',
        `${root}: class folder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} not in the classes file`,
        { file: root },
      );
    const present = classesInOrder.filter((c) => folders.includes(c));
    if (present.length < classesInOrder.length) {
      classSubset = present.map((c) => classesInOrder.indexOf(c));
      classes = present;
    } else {
      classes = [...classesInOrder];
    }
  } else {
    classes = folders;
  }

  const problems: FolderProblem[] = [];
  const examples: FolderExample[] = [];
  // torchvision's make_dataset walks the classes sorted by name, whatever their labels.
  for (const name of [...classes].sort(codePointCompare)) {
    const label = classes.indexOf(name);
    const files = walkImages(path.join(root, name), problems);
    if (files.length === 0)
      problems.push({ path: path.join(root, name), reason: 'class folder has no images' });
    for (const file of files) examples.push({ file, label });
  }
  return { classes, classSubset, examples, problems };
}
