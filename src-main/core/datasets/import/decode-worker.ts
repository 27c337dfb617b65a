/**
 * Worker-thread entry of the import pool (pool.ts): prepares one image per message and posts its pixels
 * back, or the reason it cannot be read. The pool's workers share the machine's cores, so libvips runs
 * single-threaded here and keeps no cache of decoded images.
 */
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { UndecodableImage } from './decode.js';
import type { WorkerReply, WorkerTask } from './pool.js';
import { prepareFile } from './preprocess.js';

sharp.concurrency(1);
sharp.cache(false);

const port = parentPort;
if (!port) throw new Error('decode-worker.js runs as a worker thread of the image-folder import');

port.on('message', (task: WorkerTask) => {
  prepareFile(task.file, task.pipeline).then(
    (image) => {
      const reply: WorkerReply = { index: task.index, ok: true, image };
      port.postMessage(reply, [image.planar.buffer as ArrayBuffer]);
    },
    (error: unknown) => {
      const reply: WorkerReply =
        error instanceof UndecodableImage
          ? { index: task.index, ok: false, reason: error.reason }
          : {
              index: task.index,
              ok: false,
              reason: String((error as Error)?.message ?? error),
              internal: true,
            };
      port.postMessage(reply);
    },
  );
});
