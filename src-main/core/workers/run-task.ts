import {
  accumulateReads,
  convertSums,
  copySums,
  hashFile,
  hashParts,
  syncFile,
  writeOnnxEmbedded,
  writeParts,
} from './ops.js';
import type { WorkerResults, WorkerTask } from './protocol.js';

/** Run one task in the calling thread: the worker's body, and the path taken when workers are off. */
export function runTask(
  task: WorkerTask,
): WorkerResults[WorkerTask['op']] | Promise<WorkerResults[WorkerTask['op']]> {
  switch (task.op) {
    case 'accumulate':
      return accumulateReads(task.sums, task.reads, task.scratch);
    case 'convert':
      convertSums(task.sums, task.pieces, task.scale, task.out);
      return null;
    case 'write':
      return writeParts(task.sums, task.fd, task.parts, task.scale);
    case 'write-onnx':
      return writeOnnxEmbedded(task.sums, task.fd, task.graphBytes, task.tensors, task.scale);
    case 'copy':
      return copySums(task.from, task.to, task.bytes);
    case 'fsync':
      return syncFile(task.fd);
    case 'hash-file':
      return hashFile(task.file);
    case 'hash-parts':
      return hashParts(task.parts);
  }
}
