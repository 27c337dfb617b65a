import { createRequire } from 'node:module';

export interface ProviderStatus {
  name: string;
  available: boolean;
  reason: string | null;
}

/** Preference order per platform; CPU is always last and always available. */
const PREFERENCE: Record<string, string[]> = {
  linux: ['cuda', 'cpu'],
  win32: ['cuda', 'dml', 'cpu'],
  darwin: ['coreml', 'cpu'],
};

const MISSING_REASON: Record<string, string> = {
  cuda: 'CUDA libraries not installed: reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci on a machine with an NVIDIA GPU and network',
  dml: 'DirectML is not part of this onnxruntime-node build',
  coreml: 'CoreML is not part of this onnxruntime-node build',
};

interface OrtBackend {
  name: string;
  bundled: boolean;
}

/**
 * Execution providers this onnxruntime-node build can load, in preference order. "available" means the
 * provider's libraries are present; the inference host still falls back to CPU (and says why) if a
 * provider fails to create a session on this machine.
 */
export function detectProviders(platform = process.platform): ProviderStatus[] {
  const require = createRequire(import.meta.url);
  const ort = require('onnxruntime-node') as { listSupportedBackends?: () => OrtBackend[] };
  const backends = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  const order = PREFERENCE[platform] ?? ['cpu'];
  return order.map((name) => {
    if (name === 'cpu') return { name, available: true, reason: null };
    const backend = backends.find((b) => b.name === name);
    if (backend?.bundled) return { name, available: true, reason: null };
    return {
      name,
      available: false,
      reason: MISSING_REASON[name] ?? `${name} is not in this onnxruntime-node build`,
    };
  });
}

export function preferredProvider(statuses: ProviderStatus[]): string {
  return statuses.find((s) => s.available)?.name ?? 'cpu';
}

export function onnxruntimeVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = require('onnxruntime-node/package.json') as { version: string };
  return pkg.version;
}
