import type { PickleSummary } from '../ingredient.js';

/** What a scan should tell about a PyTorch checkpoint besides its tensors. */
export interface PickleNotice {
  /** `pickle_globals`: the pickle names code-running globals (never run); `ema_weights`: EMA weights exist too */
  code: 'pickle_globals' | 'ema_weights';
  path: string;
  message: string;
  /** for pickle_globals: the globals, as `module.name` */
  globals?: string[];
}

/** The notices for one checkpoint's summary (none for ONNX and safetensors checkpoints). */
export function pickleNotices(summary: { path: string; pickle?: PickleSummary }): PickleNotice[] {
  const pickle = summary.pickle;
  if (!pickle) return [];
  const out: PickleNotice[] = [];
  if (pickle.suspiciousGlobals.length) {
    out.push({
      code: 'pickle_globals',
      path: summary.path,
      message: `${summary.path}: its pickle names ${pickle.suspiciousGlobals.join(', ')}, which would run code if the file were unpickled (torch.load without weights_only); Tureen never unpickles, it read only the tensors`,
      globals: [...pickle.suspiciousGlobals],
    });
  }
  if (pickle.emaKey && !pickle.usedEma) {
    out.push({
      code: 'ema_weights',
      path: summary.path,
      message: `${summary.path}: holds EMA weights too (under "${pickle.emaKey}"); the raw weights${pickle.stateDictKey ? ` ("${pickle.stateDictKey}")` : ''} are used unless --ema (eval, compare, cook, advise) or the kitchen's EMA setting in the app picks the EMA weights`,
    });
  }
  return out;
}
