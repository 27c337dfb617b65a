import type { Command } from '../command.js';
import { adviseCommand } from './advise.js';
import { compareCommand } from './compare.js';
import { dataCommand } from './data.js';
import { evalCommand } from './eval.js';
import { cookCommand } from './cook.js';
import { infoCommand } from './info.js';
import { reportCommand } from './report.js';
import { scanCommand } from './scan.js';
import { serveCommand } from './serve.js';
import { similarityCommand } from './similarity.js';
import { sweepCommand } from './sweep.js';

/** Every `tureen <command>`, in the order `tureen --help` lists them. Register new commands here. */
export const commands: Command[] = [
  infoCommand,
  scanCommand,
  cookCommand,
  similarityCommand,
  sweepCommand,
  evalCommand,
  compareCommand,
  adviseCommand,
  reportCommand,
  dataCommand,
  serveCommand,
];
