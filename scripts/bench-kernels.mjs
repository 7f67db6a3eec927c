#!/usr/bin/env node
/**
 * Kernel throughput, single thread: GB/s of weights for one matrix-vector product, reference
 * (scalar TypeScript) vs fast (WebAssembly SIMD), per weight type. The matrix is generated in memory
 * once (random bytes with realistic fp16 scales: every nibble pattern, valid blocks) in a shared
 * WebAssembly.Memory, as the engine holds weights.
 *
 *   npm run bench [-- --rows 14336 --cols 4096 --seconds 1 --types Q4_K,Q6_K --positions 1,16,64]
 *
 * Each count runs the kernel the engine picks for it on file order (kernels-wasm.ts wasmKernelFor: one
 * position of Q4_K on Q8KY activations, of a Q6_K matrix from BYTE_ACTIVATION_MIN_COLS columns on
 * Q8KB), and Q4_K and Q6_K also in lane order (the base build's layouts, which the engine runs); one
 * position is also timed on the other 8-bit layouts (Q8KX passes; Q8KB for Q6_K). Rows wider than 32
 * blocks are also timed in the grouped layout (src/kernels/wasm/grouped.ts), as the engine stores
 * and runs them.
 * --positions takes a list: each count is a batched product of that many activation vectors, and
 * its GB/s counts the weights once per position (bytes x positions / time), the rate a prompt sees.
 * --wasm FILE times another build of assembly/ (e.g. `asc ... -o /tmp/k.wasm`) instead of
 * dist/wasm/kernels.wasm. --no-float skips the float-activation paths. Q4_K and Q6_K are also timed
 * on the relaxed-SIMD build (dist/wasm/kernels-relaxed.wasm, as --relaxed-simd runs them; this turns
 * on V8's relaxed SIMD for the process) unless --no-relaxed.
 *
 * Needs the build (dist/): `npm run build`. Every fast result is checked against the reference
 * before it is timed (integer paths bit for bit, float paths within 1e-5; first and last position).
 */
import {randomFillSync} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

const dist = new URL('../dist/', import.meta.url)
if (!existsSync(new URL('kernels/index.js', dist)) || !existsSync(new URL('wasm/kernels.wasm', dist))) {
  console.error('bench-kernels: dist/ is not built; run `npm run build` first')
  process.exit(2)
}
const {kernelFor, quantizeRowQ8K, vecDotQ4KQ8K, vecDotQ6KQ8K, quantizeRowQ8_0, vecDotQ8_0Q8_0} = await import(new URL('kernels/index.js', dist))
const {f32ToFp16} = await import(new URL('kernels/fp16.js', dist))
const {GGMLType} = await import(new URL('gguf/ggml-types.js', dist))
const {createSharedMemory, instantiateWasmKernels, requireWasmKernel, wasmFloatKernelFor, wasmKernelFor} = await import(new URL('kernels/wasm/kernels-wasm.js', dist))
const {groupRows, isGrouped} = await import(new URL('kernels/wasm/grouped.js', dist))

const {values: opt} = parseArgs({options: {
  rows: {type: 'string', default: '14336'},
  cols: {type: 'string', default: '4096'},
  seconds: {type: 'string', default: '1'},
  types: {type: 'string', default: 'Q4_K,Q6_K,Q8_0,F16,F32'},
  positions: {type: 'string', default: '1'},
  'no-reference': {type: 'boolean', default: false},
  'no-float': {type: 'boolean', default: false},
  'no-relaxed': {type: 'boolean', default: false},
  wasm: {type: 'string'},
}})
const rows = Number(opt.rows), cols = Number(opt.cols), seconds = Number(opt.seconds)
const positions = opt.positions.split(',').map(Number)
const nPos = Math.max(...positions) // room for the largest batch
if (cols % 256 !== 0) throw new Error('--cols must be a multiple of 256')
if (!positions.every((p) => Number.isInteger(p) && p > 0)) throw new Error('--positions must be a list of positive integers')

/** type name -> [ggml type, block values, block bytes, offsets of fp16 scales in a block] */
const types = {
  Q4_K: [GGMLType.Q4_K, 256, 144, [0, 2]],
  Q6_K: [GGMLType.Q6_K, 256, 210, [208]],
  Q8_0: [GGMLType.Q8_0, 32, 34, [0]],
  F16: [GGMLType.F16, 1, 2, []],
  F32: [GGMLType.F32, 1, 4, []],
}
const wanted = opt.types.split(',')
const maxBytes = Math.max(...wanted.map((t) => (cols / types[t][1]) * types[t][2] * rows))
const actBytes = ((cols / 256) * 1120 + cols * 4) * nPos
const memory = createSharedMemory(maxBytes + actBytes + rows * 4 * nPos + 4096)
const heap = new Uint8Array(memory.buffer)
const k = opt.wasm
  ? new WebAssembly.Instance(new WebAssembly.Module(readFileSync(opt.wasm)), {env: {memory}}).exports
  : instantiateWasmKernels(memory)
/** The relaxed-SIMD build over the same memory (made on first use). */
let relaxedInstance
const relaxedKernels = () => (relaxedInstance ??= instantiateWasmKernels(memory, true))
const wPtr = 0, xPtr = maxBytes, actPtr = xPtr + cols * 4 * nPos, outPtr = actPtr + (cols / 256) * 1120 * nPos + 1024

/**
 * Runs fn repeatedly for about `seconds` (after one warm-up run); returns the best wall time and
 * the best CPU time (process user + system) in ms. On a shared machine the CPU time is the steadier
 * figure: it leaves out the time the thread waited for a core.
 */
function time(fn) {
  fn()
  let wall = Infinity, cpu = Infinity, spent = 0, runs = 0
  while (spent < seconds * 1000 || runs < 3) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    fn()
    const ms = performance.now() - t0
    const c = process.cpuUsage(c0)
    wall = Math.min(wall, ms)
    cpu = Math.min(cpu, (c.user + c.system) / 1000)
    spent += ms
    runs++
  }
  return [wall, cpu]
}

const x = new Float32Array(cols * nPos) // (nPos, cols)
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 2
new Float32Array(memory.buffer, xPtr, x.length).set(x)

console.log(`matrix ${rows} x ${cols}, one thread, best of ~${seconds}s per variant; Node ${process.version}${opt.wasm ? `; ${opt.wasm}` : ''}`)
console.log('GB/s counts the weights once per position (bytes x positions / time); ms is per product')
console.log('type  | MB     | pos | variant                        | GB/s (wall) | GB/s (cpu) | ms/product')
console.log('------|--------|-----|--------------------------------|-------------|------------|-----------')
for (const name of wanted) {
  const [type, blockValues, blockBytes, halves] = types[name]
  const rowBytes = (cols / blockValues) * blockBytes
  const bytes = rowBytes * rows
  const w = heap.subarray(wPtr, wPtr + bytes)
  randomFillSync(w)
  const dv = new DataView(memory.buffer)
  if (type === GGMLType.F32) {
    const f = new Float32Array(memory.buffer, wPtr, rows * cols)
    for (let i = 0; i < f.length; i++) f[i] = ((i * 2654435761) % 1000) / 1000 - 0.5
  } else if (type === GGMLType.F16) {
    for (let i = 0; i < rows * cols; i++) dv.setUint16(wPtr + 2 * i, f32ToFp16(((i * 2654435761) % 1000) / 1000 - 0.5), true)
  } else {
    const scale = f32ToFp16(0.001)
    for (let b = 0; b < bytes / blockBytes; b++) for (const h of halves) dv.setUint16(wPtr + b * blockBytes + h, scale, true)
  }
  const out = new Float32Array(memory.buffer, outPtr, rows * nPos)
  const ref = kernelFor(type)
  let refInt, q
  if (type === GGMLType.Q4_K || type === GGMLType.Q6_K) {
    q = new Uint8Array((cols / 256) * 292)
    refInt = type === GGMLType.Q4_K ? vecDotQ4KQ8K : vecDotQ6KQ8K
  } else if (type === GGMLType.Q8_0) {
    q = new Uint8Array((cols / 32) * 34)
    refInt = vecDotQ8_0Q8_0
  }
  const quantize = (p) => type === GGMLType.Q8_0 ? quantizeRowQ8_0(x, p * cols, cols, q, 0) : quantizeRowQ8K(x, p * cols, cols, q, 0)
  /** Checks a handful of rows of the first and last position of an n-position result. */
  const validate = (n, what, exact, m = w) => {
    for (const p of new Set([0, n - 1])) {
      if (exact) quantize(p)
      for (const r of [0, 1, rows >> 1, rows - 1]) {
        const want = exact ? refInt(m, r * rowBytes, cols, q, 0) : ref.dotRow(m, r * rowBytes, cols, x, p * cols)
        const got = out[p * rows + r]
        const ok = exact ? got === want : Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)) * Math.sqrt(cols)
        if (!ok) throw new Error(`${name}: ${what} row ${r} position ${p} of ${n} = ${got}, reference ${want}`)
      }
    }
  }
  const line = (variant, n, [wall, cpu]) => console.log(
    `${name.padEnd(5)} | ${(bytes / 1e6).toFixed(1).padStart(6)} | ${String(n).padStart(3)} | ${variant.padEnd(30)} | ${(n * bytes / wall / 1e6).toFixed(2).padStart(11)} | ${(n * bytes / cpu / 1e6).toFixed(2).padStart(10)} | ${wall.toFixed(2)}`)

  if (!opt['no-reference']) {
    line('reference, f32 activations', 1, time(() => { for (let r = 0; r < rows; r++) out[r] = ref.dotRow(w, r * rowBytes, cols, x, 0) }))
    if (refInt) {
      line('reference, 8-bit activations', 1, time(() => {
        quantize(0)
        for (let r = 0; r < rows; r++) out[r] = refInt(w, r * rowBytes, cols, q, 0)
      }))
    }
  }
  const floatPath = refInt && !opt['no-float'] ? wasmFloatKernelFor(type) : undefined
  for (const n of positions) {
    const chosen = wasmKernelFor(type, {cols, nPos: n})
    // The engine's kernel for this count first, then (one position) the other 8-bit layouts.
    const others = refInt && n === 1 ? [requireWasmKernel(type), wasmKernelFor(type, {cols, nPos: 1}, {byteMinCols: 0})] : []
    for (const fast of new Set([chosen, ...others])) {
      const run = () => fast.matmul(k, wPtr, rowBytes, rows, fast.prepare(k, xPtr, cols, n, actPtr), n, outPtr)
      run() // validate before timing
      validate(n, fast.format, Boolean(refInt))
      line(`wasm simd, ${refInt ? `8-bit (${fast.format})` : 'f32 activations'}${fast === chosen ? '' : ', alt.'}`, n, time(run))
    }
    const relaxed = opt['no-relaxed'] ? undefined : wasmKernelFor(type, {cols, nPos: n}, {relaxed: true})
    if (relaxed && relaxed !== chosen) {
      const kr = relaxedKernels()
      const run = () => relaxed.matmul(kr, wPtr, rowBytes, rows, relaxed.prepare(kr, xPtr, cols, n, actPtr), n, outPtr)
      run()
      validate(n, 'relaxed simd', true)
      line(`relaxed simd, 8-bit (${relaxed.format})`, n, time(run))
    }
    if (floatPath) {
      const runFloat = () => floatPath.matmul(k, wPtr, rowBytes, rows, floatPath.prepare(k, xPtr, cols, n, actPtr), n, outPtr)
      runFloat()
      validate(n, 'float path', false)
      line('wasm simd, f32 activations', n, time(runFloat))
    }
  }
  // The base build's order of Q4_K and Q6_K (assembly/q4_k_lanes.ts, q6_k_lanes.ts), the engine's kernels there.
  const lanes = type === GGMLType.Q4_K || type === GGMLType.Q6_K
  /** Puts the matrix into lane order or back (Q4_K refuses a non-finite scale, which the generated blocks never have). */
  const reorder = (back) => {
    if (type === GGMLType.Q6_K) k.q6k_lanes(wPtr, bytes / blockBytes, back)
    else if (k.q4k_lanes(wPtr, bytes / blockBytes, back) !== -1) throw new Error('bench-kernels: a non-finite scale in the generated Q4_K blocks')
  }
  /** Runs the kernels of the matrix in lane order (in place, then back), grouped or not, against its file order `plain`. */
  const laneRuns = (n, grouped, plain) => {
    if (!lanes) return
    reorder(false)
    const l = wasmKernelFor(type, {cols, nPos: n}, {byteMinCols: 0, grouped, lanes})
    const run = () => l.matmul(k, wPtr, rowBytes, rows, l.prepare(k, xPtr, cols, n, actPtr), n, outPtr)
    run()
    validate(n, `lane order${grouped ? ', grouped' : ''}`, true, plain)
    line(`${grouped ? 'grouped, ' : ''}lane order (${l.format})`, n, time(run))
    reorder(true)
  }
  if (refInt) for (const n of positions) laneRuns(n, false, w.slice())
  if (refInt && isGrouped(cols / 256)) { // the engine's layout for rows the kernels take in column chunks
    const plain = w.slice()
    groupRows(w, rows, cols / 256, blockBytes)
    for (const n of positions) {
      const g = wasmKernelFor(type, {cols, nPos: n}, {byteMinCols: 0, grouped: true})
      const run = () => g.matmul(k, wPtr, rowBytes, rows, g.prepare(k, xPtr, cols, n, actPtr), n, outPtr)
      run()
      validate(n, 'grouped layout', true, plain)
      line(`grouped, 8-bit (${g.format})`, n, time(run))
      laneRuns(n, true, plain)
      const gr = opt['no-relaxed'] ? undefined : wasmKernelFor(type, {cols, nPos: n}, {byteMinCols: 0, grouped: true, relaxed: true})
      if (gr && gr !== g) {
        const kr = relaxedKernels()
        const runR = () => gr.matmul(kr, wPtr, rowBytes, rows, gr.prepare(kr, xPtr, cols, n, actPtr), n, outPtr)
        runR()
        validate(n, 'grouped layout, relaxed simd', true, plain)
        line(`grouped, relaxed simd (${gr.format})`, n, time(runR))
      }
    }
  }
}
