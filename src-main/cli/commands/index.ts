import type { Command } from '../command.js';
import { infoCommand } from './info.js';
import { serveCommand } from './serve.js';

/** Every `tureen <command>`, in the order `tureen --help` lists them. Register new commands here. */
export const commands: Command[] = [infoCommand, serveCommand];
