/**
 * A WebAssembly SIMD kernel for the hot loop of averaging: acc[i] += c · src[i] over float32, four lanes
 * at a time, with a NaN/Inf probe (Σ src[i]·0 is NaN exactly when some src[i] is not finite). A scalar
 * JavaScript loop manages about 2-3 GB/s here, below the page-cache read speed the averaging must keep
 * up with; this runs several times faster. The module is assembled from bytes below (no build step):
 *
 *   (func (export "add_f32") (param $acc i32) (param $src i32) (param $n i32) (param $c f32) (result i32)
 *     (local $end i32) (local $i i32) (local $vc v128) (local $probe v128) (local $zero v128) (local $v v128)
 *     $vc = f32x4.splat($c); $end = $n << 2
 *     loop while $i < $end:
 *       $v = v128.load($src + $i)
 *       v128.store($acc + $i, f32x4.add(v128.load($acc + $i), f32x4.mul($v, $vc)))
 *       $probe = f32x4.add($probe, f32x4.mul($v, $zero))
 *       $i += 16
 *     return v128.any_true(f32x4.ne($probe, $probe)))
 *
 * `n` must be a multiple of 4; callers finish the tail in JavaScript.
 */

const SIMD = 0xfd;
const memarg = [0x00, 0x00];
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];

// prettier-ignore
const body = [
  0x02, 0x02, 0x7f, 0x04, 0x7b,                      // locals: 2 × i32 ($end, $i), 4 × v128 ($vc, $probe, $zero, $v)
  ...get(3), SIMD, 0x13, ...set(6),                  // $vc = f32x4.splat($c)
  ...get(2), 0x41, 0x02, 0x74, ...set(4),            // $end = $n << 2
  0x02, 0x40,                                        // block
  0x03, 0x40,                                        //   loop
  ...get(5), ...get(4), 0x4f, 0x0d, 0x01,            //     br_if 1 ($i >= $end)
  ...get(0), ...get(5), 0x6a,                        //     store address $acc + $i
  ...get(0), ...get(5), 0x6a, SIMD, 0x00, ...memarg, //     v128.load($acc + $i)
  ...get(1), ...get(5), 0x6a, SIMD, 0x00, ...memarg, //     v128.load($src + $i)
  0x22, 0x09,                                        //     local.tee $v
  ...get(6), SIMD, 0xe6, 0x01,                       //     f32x4.mul($v, $vc)
  SIMD, 0xe4, 0x01,                                  //     f32x4.add
  SIMD, 0x0b, ...memarg,                             //     v128.store
  ...get(7), ...get(9), ...get(8), SIMD, 0xe6, 0x01, //     $v × $zero
  SIMD, 0xe4, 0x01, ...set(7),                       //     $probe += it
  ...get(5), 0x41, 0x10, 0x6a, ...set(5),            //     $i += 16
  0x0c, 0x00,                                        //     br 0
  0x0b,                                              //   end loop
  0x0b,                                              // end block
  ...get(7), ...get(7), SIMD, 0x42,                  // f32x4.ne($probe, $probe): NaN lanes
  SIMD, 0x53,                                        // v128.any_true
  0x0b,                                              // end function
];

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}

const name = (s: string) => [s.length, ...Buffer.from(s, 'ascii')];

// prettier-ignore
const moduleBytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                            // "\0asm", version 1
  ...section(1, [0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7d, 0x01, 0x7f]),     // type: (i32 i32 i32 f32) -> i32
  ...section(2, [0x01, ...name('env'), ...name('mem'), 0x02, 0x03, 0x00, 0x80, 0x80, 0x04]), // import env.mem: shared memory (min 0, max 65536 pages)
  ...section(3, [0x01, 0x00]),                                               // one function of type 0
  ...section(7, [0x01, ...name('add_f32'), 0x00, 0x00]),                     // export it as add_f32
  ...section(10, [0x01, ...leb(body.length), ...body]),                      // its code
]);

let compiled: WebAssembly.Module | null | undefined;

function compiledModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(moduleBytes);
    } catch {
      compiled = null; // no SIMD support: the JavaScript kernel is used
    }
  }
  return compiled;
}

/**
 * The accumulator's memory is shared (a SharedArrayBuffer underneath), so worker threads (core/workers) can
 * read files into it and add with this same kernel while the thread serving the UI only awaits them.
 */
export interface SimdKernel {
  memory: WebAssembly.Memory;
  /** acc (byte offset) += c × src (byte offset), n float32 values (a multiple of 4); true if src had NaN/Inf */
  addF32(accByte: number, srcByte: number, n: number, c: number): boolean;
}

const PAGE = 65536;
/** wasm32 addresses 4 GiB; stay below it with room for the read buffers. */
export const SIMD_MAX_BYTES = 4 * 1024 ** 3 - 64 * 1024 ** 2;

/**
 * Memories of accumulators that were garbage-collected, kept for the next accumulator of the same size:
 * first-touch page faults cost far more than zeroing touched memory (on the VM this was measured on,
 * ~200 MB/s against ~10 GB/s), and a greedy soup creates one accumulator per candidate.
 */
const recycled: WebAssembly.Memory[] = [];
const RECYCLE_AT_MOST = 2;
const finalizer = new FinalizationRegistry<WebAssembly.Memory>((memory) => {
  if (recycled.length < RECYCLE_AT_MOST) recycled.push(memory);
});

/**
 * A kernel over a zeroed memory of at least `bytes` bytes (recycled from a collected `owner` of the same
 * size when there is one), or null when SIMD is unavailable or it would not fit.
 */
export function createSimdKernel(
  bytes: number,
  owner?: object,
  /** false: the caller overwrites every byte it reads (a recycled memory is not zeroed first) */
  zeroed = true,
): SimdKernel | null {
  const mod = compiledModule();
  if (!mod || bytes > SIMD_MAX_BYTES) return null;
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  let memory: WebAssembly.Memory | undefined;
  const reuse = recycled.findIndex((m) => m.buffer.byteLength === pages * PAGE);
  if (reuse >= 0) {
    memory = recycled.splice(reuse, 1)[0]!;
    if (zeroed) new Uint8Array(memory.buffer).fill(0);
  } else {
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch {
      return null;
    }
  }
  if (owner) finalizer.register(owner, memory);
  return kernelOver(mod, memory);
}

function kernelOver(mod: WebAssembly.Module, memory: WebAssembly.Memory): SimdKernel {
  const instance = new WebAssembly.Instance(mod, { env: { mem: memory } });
  const add = instance.exports.add_f32 as (acc: number, src: number, n: number, c: number) => number;
  return { memory, addF32: (accByte, srcByte, n, c) => add(accByte, srcByte, n, c) !== 0 };
}

/** The kernel over a memory made by createSimdKernel (posted to a worker thread), or null without SIMD. */
export function simdKernelFor(memory: WebAssembly.Memory): SimdKernel | null {
  const mod = compiledModule();
  return mod ? kernelOver(mod, memory) : null;
}
