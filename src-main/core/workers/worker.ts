import { parentPort } from 'node:worker_threads';
import { toErrorInfo } from '../../common/errors.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import { runTask } from './run-task.js';

// A worker thread of the pool (pool.ts): runs one task at a time and answers.
const port = parentPort;
if (!port) throw new Error('core/workers/worker.js runs as a worker thread');
port.on('message', ({ id, task }: WorkerRequest) => {
  // one task at a time: the pool sends the next only after this reply
  void (async () => {
    let reply: WorkerReply;
    try {
      reply = { id, ok: true, result: await runTask(task) };
    } catch (error) {
      reply = { id, ok: false, error: toErrorInfo(error) };
    }
    port.postMessage(reply);
  })();
});
// loaded: from now on a failure is a task's, not the script's (pool.ts falls back to its own thread on the latter)
port.postMessage({ ready: true });
