import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TureenError } from '../../common/errors.js';
import { packageRoot } from '../paths.js';
import type { HostRequest, HostResponse } from './protocol.js';

/** A running host process as the parent sees it, whatever started it. */
export interface HostChannel {
  readonly pid: number | undefined;
  /**
   * Serialises the message before returning (the caller reuses a chunk's scratch array right after); a
   * process that is gone drops it, and its exit is reported through onExit. Large arrays never come here
   * whole: InferenceHost sends them in pieces (transfer.ts), the same for every spawner.
   */
  send(message: HostRequest): void;
  onMessage(listener: (message: HostResponse) => void): void;
  /** called once when the process ends, for whatever reason */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** keep the parent alive while requests are pending, and let it exit when idle */
  setBusy(busy: boolean): void;
  kill(): void;
}

/** Starts inference host processes. Electron passes one built on utilityProcess; everything else forks. */
export interface HostSpawner {
  spawn(): HostChannel;
}

/**
 * The compiled host entry: next to this module when running compiled (out/node), else the build output of
 * a source checkout (tests run the TypeScript sources, but a child process needs JavaScript).
 */
export function hostEntryFile(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sibling = path.join(here, 'host-process.js');
  if (fs.existsSync(sibling)) return sibling;
  const built = path.join(packageRoot(), 'out', 'node', 'core', 'inference', 'host-process.js');
  if (fs.existsSync(built)) return built;
  throw new TureenError(
    'internal',
    `the inference host is not built (${built} missing): run \`npx tsc -p tsconfig.cli.json\``,
    {
      file: built,
    },
  );
}

export function forkSpawner(entry?: string): HostSpawner {
  return {
    spawn() {
      const child = fork(entry ?? hostEntryFile(), [], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      return {
        get pid() {
          return child.pid;
        },
        send: (message) => {
          // Node serialises inside send(). With a callback, a message that cannot be delivered (the host
          // died and 'exit' is not handled yet: ERR_IPC_CHANNEL_CLOSED, EPIPE) is reported here instead of
          // as an unhandled 'error' event; the host is then ended, and its exit fails the pending requests
          // with host_crashed rather than leaving them waiting for an answer that cannot come.
          child.send(message, (error) => {
            if (error) child.kill();
          });
        },
        onMessage: (listener) => child.on('message', (m) => listener(m as HostResponse)),
        onExit: (listener) => child.once('exit', (code, signal) => listener(code, signal)),
        setBusy: (busy) => {
          if (busy) {
            child.ref();
            child.channel?.ref();
          } else {
            child.unref();
            child.channel?.unref();
          }
        },
        kill: () => {
          child.kill();
        },
      };
    },
  };
}

/** The part of Electron's `UtilityProcess` the host needs (core never imports electron). */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/**
 * Host processes for the Electron app: `utilityProcessSpawner((entry) => utilityProcess.fork(entry))`, given
 * to the Kitchen as its `hostSpawner` option. Messages are structured clones, so weight buffers arrive as typed
 * arrays; a utility process never keeps the app alive, so busy/idle needs no bookkeeping.
 */
export function utilityProcessSpawner(
  forkUtility: (entry: string) => UtilityProcessLike,
  entry?: string,
): HostSpawner {
  return {
    spawn() {
      const child = forkUtility(entry ?? hostEntryFile());
      return {
        get pid() {
          return child.pid;
        },
        send: (message) => child.postMessage(message),
        onMessage: (listener) => {
          child.on('message', (m) => listener(m as HostResponse));
        },
        onExit: (listener) => {
          child.once('exit', (code) => listener(code, null));
        },
        setBusy: () => {},
        kill: () => {
          child.kill();
        },
      };
    },
  };
}
