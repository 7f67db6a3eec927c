/**
 * The weight arena: shared `WebAssembly.Memory` regions that hold whole groups of tensors (a
 * transformer block, the embedding, the head), so that WebAssembly kernels and worker threads can
 * later read the weights in place (a module instance imports one memory; one memory holds at most
 * 4 GiB, so a 14 GB model needs several). A group never straddles two regions.
 *
 * Regions grow page by page as groups are placed (fresh memory costs seconds per GB to touch on
 * these machines, so nothing is allocated that will not be filled). Each memory is created with
 * the largest maximum so that kernels may later append their own scratch after the weights.
 */
import {LlmfragError} from '../errors.js'

const PAGE = 65536 // bytes in a WebAssembly page
const MAX_PAGES = 65535 // one page short of 4 GiB, so a Uint8Array over a whole region stays < 2^32 elements
/** Default region budget for weights: leaves 512 MiB of each memory for kernel scratch. */
export const DEFAULT_REGION_BYTES = 3.5 * 1024 ** 3
const ALIGN = 64 // bytes: a cache line, and a multiple of every SIMD width

/**
 * The part of `WebAssembly.Memory` the arena uses. The project's TypeScript libs (ES2022 + node)
 * carry no WebAssembly declarations, so the constructor is looked up on globalThis and typed here;
 * the objects are real WebAssembly.Memory instances that a module can import.
 */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer
  grow(deltaPages: number): number
}
type WasmMemoryCtor = new (d: {initial: number; maximum: number; shared: true}) => WasmMemory
const WasmMemory = (globalThis as unknown as {WebAssembly: {Memory: WasmMemoryCtor}}).WebAssembly.Memory

/** A placed block: the region (index into `memories`) and its byte range there. */
export interface ArenaSlice {
  readonly region: number
  readonly offset: number
  readonly bytes: number
}

export class Arena {
  readonly memories: WasmMemory[] = []
  /** Bytes handed out in each region (the next free offset before alignment). */
  private readonly used: number[] = []

  constructor(readonly regionBytes: number = DEFAULT_REGION_BYTES) {
    if (!(regionBytes > 0) || regionBytes > MAX_PAGES * PAGE) {
      throw new LlmfragError('INTERNAL', `arena region size ${regionBytes} is outside (0, ${MAX_PAGES * PAGE}]`)
    }
  }

  /** Total bytes reserved across regions (page-rounded), for memory reports. */
  get reservedBytes(): number {
    return this.memories.reduce((s, m) => s + m.buffer.byteLength, 0)
  }

  /**
   * Places a group of blocks (sizes in bytes, each 64-byte aligned) contiguously in one region:
   * the current one if the group fits its budget, else a new one.
   */
  allocGroup(sizes: readonly number[]): ArenaSlice[] {
    const total = sizes.reduce((s, n) => s + align(n), 0)
    if (total > this.regionBytes) {
      throw new LlmfragError('UNSUPPORTED', `a tensor group of ${total} bytes does not fit one ${this.regionBytes}-byte memory region`, {
        hints: ['a single transformer block larger than ~3.5 GiB cannot be placed in WebAssembly memory'],
        details: {bytes: total},
      })
    }
    let region = this.memories.length - 1
    if (region < 0 || align(this.used[region]) + total > this.regionBytes) region = this.openRegion()
    let offset = align(this.used[region])
    this.ensure(region, offset + total)
    const slices = sizes.map((bytes) => {
      const s: ArenaSlice = {region, offset, bytes}
      offset += align(bytes)
      return s
    })
    this.used[region] = offset
    return slices
  }

  /**
   * Appends `bytes` of scratch (64-byte aligned) after everything placed in `region`, beyond the
   * weight budget (the memory's last ~512 MiB are kept for this): kernels need their activations
   * and outputs in the memory of the weights they read. Returns the slice.
   */
  allocScratch(region: number, bytes: number): ArenaSlice {
    const offset = align(this.used[region])
    if (offset + bytes > MAX_PAGES * PAGE) {
      throw new LlmfragError('UNSUPPORTED', `${bytes} bytes of kernel scratch do not fit memory region ${region} after its ${offset} bytes of weights`, {
        hints: ['lower -b/--batch-size'], details: {region, offset, bytes},
      })
    }
    this.ensure(region, offset + bytes)
    this.used[region] = offset + bytes
    return {region, offset, bytes}
  }

  /** A byte view of a slice (valid for the life of the arena; growth never moves shared memory). */
  bytes(s: ArenaSlice): Uint8Array {
    return new Uint8Array(this.memories[s.region].buffer, s.offset, s.bytes)
  }

  /** A float32 view of a slice (bytes must be a multiple of 4; offsets are 64-byte aligned). */
  floats(s: ArenaSlice): Float32Array {
    return new Float32Array(this.memories[s.region].buffer, s.offset, s.bytes >>> 2)
  }

  private openRegion(): number {
    this.memories.push(new WasmMemory({initial: 0, maximum: MAX_PAGES, shared: true}))
    this.used.push(0)
    return this.memories.length - 1
  }

  private ensure(region: number, end: number): void {
    const m = this.memories[region]
    const have = m.buffer.byteLength / PAGE
    const need = Math.ceil(end / PAGE)
    if (need > have) m.grow(need - have)
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN
}
