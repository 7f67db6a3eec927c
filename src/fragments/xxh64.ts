/**
 * Streaming XXH64 with seed 0 (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md),
 * the content checksum of a zstd frame (RFC 8878 section 3.1.1 stores its low 4 bytes).
 *
 * The stripe loop (all but the last < 32 bytes) needs 64-bit multiplies: in plain JS with 32-bit
 * halves it ran at 0.14 GB/s here, slower than zstd itself, so it runs in a 150-byte WebAssembly
 * function (native i64 arithmetic) built below. The finalization touches a few words once and uses
 * BigInt for clarity.
 */

const M64 = (1n << 64n) - 1n
const P1 = 0x9e3779b185ebca87n
const P2 = 0xc2b2ae3d27d4eb4fn
const P3 = 0x165667b19e3779f9n
const P4 = 0x85ebca77c2b2ae63n
const P5 = 0x27d4eb2f165667c5n

/** Scratch bytes copied into WebAssembly memory per call (the memory is this plus 64 bytes). */
const SCRATCH = 1 << 20
const DATA_AT = 64 // state (4 x u64) lives at 0..31; data from byte 64

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb64(v: bigint): number[] {
  v = BigInt.asIntN(64, v)
  const out: number[] = []
  for (;;) {
    const b = Number(v & 0x7fn)
    v >>= 7n
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload]
}

function name(s: string): number[] {
  return [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))]
}

/**
 * The module, in WebAssembly's binary format:
 *   (memory (export "mem") N)
 *   (func (export "stripes") (param $state i32) (param $p i32) (param $end i32)
 *     (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64)
 *     load v1..v4 from $state
 *     (block (loop (br_if 1 (i32.ge_u $p $end))
 *       v_k = rotl(v_k + load64($p + 8k) * P2, 31) * P1   for k = 0..3
 *       $p += 32  (br 0)))
 *     store v1..v4 to $state)
 */
function buildModule(pages: number): Uint8Array {
  const I64_LOAD = 0x29, I64_STORE = 0x37, LOCAL_GET = 0x20, LOCAL_SET = 0x21, I64_CONST = 0x42
  const body: number[] = []
  for (let k = 0; k < 4; k++) body.push(LOCAL_GET, 0, I64_LOAD, 3, ...uleb(8 * k), LOCAL_SET, 3 + k)
  body.push(0x02, 0x40, 0x03, 0x40) // block, loop (no results)
  body.push(LOCAL_GET, 1, LOCAL_GET, 2, 0x4f, 0x0d, 1) // i32.ge_u; br_if 1
  for (let k = 0; k < 4; k++) {
    body.push(LOCAL_GET, 3 + k, LOCAL_GET, 1, I64_LOAD, 0, ...uleb(8 * k))
    body.push(I64_CONST, ...sleb64(P2), 0x7e, 0x7c) // i64.mul, i64.add
    body.push(I64_CONST, 31, 0x89) // i64.rotl
    body.push(I64_CONST, ...sleb64(P1), 0x7e, LOCAL_SET, 3 + k)
  }
  body.push(LOCAL_GET, 1, 0x41, 32, 0x6a, LOCAL_SET, 1, 0x0c, 0, 0x0b, 0x0b) // p += 32; br 0; end; end
  for (let k = 0; k < 4; k++) body.push(LOCAL_GET, 0, LOCAL_GET, 3 + k, I64_STORE, 3, ...uleb(8 * k))
  body.push(0x0b)
  const func = [1, 4, 0x7e, ...body] // one local group: 4 x i64
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, ...uleb(pages)]),
    ...section(7, [2, ...name('mem'), 2, 0, ...name('stripes'), 0, 0]),
    ...section(10, [1, ...uleb(func.length), ...func]),
  ])
}

interface Kernel {
  readonly bytes: Uint8Array
  readonly state: BigUint64Array
  readonly stripes: (state: number, p: number, end: number) => void
}

/**
 * The part of the WebAssembly API used here: the project's TypeScript libs (ES2022 + node) carry no
 * WebAssembly declarations, so the namespace is looked up on globalThis and typed locally.
 */
interface Wasm {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => {readonly exports: {readonly mem: {readonly buffer: ArrayBuffer}; readonly stripes: Kernel['stripes']}}
}
const wasm = (globalThis as unknown as {WebAssembly: Wasm}).WebAssembly

let kernel: Kernel | undefined

/** One instance per thread, compiled synchronously on first use (the module is tiny). */
function getKernel(): Kernel {
  if (kernel) return kernel
  const pages = Math.ceil((SCRATCH + DATA_AT) / 65536)
  const {exports} = new wasm.Instance(new wasm.Module(buildModule(pages)))
  kernel = {
    bytes: new Uint8Array(exports.mem.buffer),
    state: new BigUint64Array(exports.mem.buffer, 0, 4),
    stripes: exports.stripes,
  }
  return kernel
}

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M64, 31n) * P1) & M64

/** Incremental XXH64, seed 0. */
export class Xxh64 {
  private readonly v = new BigUint64Array([(P1 + P2) & M64, P2, 0n, (-P1) & M64])
  private readonly tail = new Uint8Array(32) // bytes of an unfinished 32-byte stripe
  private tailLength = 0
  private total = 0

  update(data: Uint8Array): this {
    this.total += data.length
    let i = 0
    if (this.tailLength > 0) {
      const take = Math.min(32 - this.tailLength, data.length)
      this.tail.set(data.subarray(0, take), this.tailLength)
      this.tailLength += take
      i = take
      if (this.tailLength < 32) return this
      this.stripes(this.tail)
      this.tailLength = 0
    }
    const whole = i + Math.floor((data.length - i) / 32) * 32
    for (let at = i; at < whole; at += SCRATCH) this.stripes(data.subarray(at, Math.min(whole, at + SCRATCH)))
    if (whole < data.length) {
      this.tail.set(data.subarray(whole), 0)
      this.tailLength = data.length - whole
    }
    return this
  }

  /** Runs the kernel over `d` (a multiple of 32 bytes, at most SCRATCH). */
  private stripes(d: Uint8Array): void {
    const k = getKernel()
    k.state.set(this.v)
    k.bytes.set(d, DATA_AT)
    k.stripes(0, DATA_AT, DATA_AT + d.length)
    this.v.set(k.state)
  }

  /** The 64-bit digest; the state is left unchanged. */
  digest(): bigint {
    const [v1, v2, v3, v4] = this.v
    let h: bigint
    if (this.total >= 32) {
      h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64
      for (const v of [v1, v2, v3, v4]) h = (((h ^ round(0n, v)) * P1) + P4) & M64
    } else {
      h = P5
    }
    h = (h + BigInt(this.total)) & M64
    const d = this.tail
    const view = new DataView(d.buffer, d.byteOffset, this.tailLength)
    let i = 0
    for (; i + 8 <= this.tailLength; i += 8) h = ((rotl(h ^ round(0n, view.getBigUint64(i, true)), 27n) * P1) + P4) & M64
    if (i + 4 <= this.tailLength) {
      h = ((rotl(h ^ ((BigInt(view.getUint32(i, true)) * P1) & M64), 23n) * P2) + P3) & M64
      i += 4
    }
    for (; i < this.tailLength; i++) h = (rotl(h ^ ((BigInt(d[i]) * P5) & M64), 11n) * P1) & M64
    h ^= h >> 33n
    h = (h * P2) & M64
    h ^= h >> 29n
    h = (h * P3) & M64
    h ^= h >> 32n
    return h
  }
}

/** XXH64 of `data` with seed 0. */
export function xxh64(data: Uint8Array): bigint {
  return new Xxh64().update(data).digest()
}
