/**
 * Writes a synthetic model: the planned header, then every tensor's data generated chunk by chunk
 * into two reused 8 MiB buffers (one fills while the other is written), so a 14 GB model needs a
 * few tens of MB of memory. The file is written as OUT.partial-<pid> and renamed when complete.
 */
import {existsSync} from 'node:fs'
import {type FileHandle, open, rename, rm, stat} from 'node:fs/promises'
import {dirname} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {GGMLType} from '../gguf/ggml-types.js'
import {planSynth, type PlannedTensor, type SynthPlan, type SynthPlanOptions} from './plan.js'
import {Prng} from '../util/prng.js'
import type {TensorRole} from './tensors.js'
import {fillNorm, fillQ4K, fillQ6K, q4kHeaders, q6kHeaders, Q4_K_BYTES, Q6_K_BYTES} from './weights.js'

export interface SynthOptions extends SynthPlanOptions {
  /** Path of the .gguf to write. */
  output: string
  /** Write the header and leave the data section a sparse zero-filled region of the full size. */
  headerOnly?: boolean
  /** Replace an existing output file (refused otherwise). */
  force?: boolean
  /** Aborting stops between chunks, removes the partial file and rejects with the signal's reason. */
  signal?: AbortSignal
}

export interface SynthResult {
  file: string
  bytes: number
  tensors: number
  params: number
  seconds: number
  /** What detection will call the file: the profile's name, or `llama-family (custom)`. */
  architecture: string
  /** The profile the shape started from. */
  profile: string
  layers: number
  seed: number
  headerOnly: boolean
}

/** (bytes written so far, total bytes of the file) */
export type SynthProgress = (done: number, total: number) => void

const CHUNK = 8 << 20 // bytes per buffer; a multiple of 4 so the word views cover it
/** Std of the values by role: matrices as the fixtures' N(0, 0.02); norms are 1 + N(0, 0.05). */
const WEIGHT_STD: Record<TensorRole, number> = {matrix: 0.02, embedding: 0.02, output: 0.02, norm: 0.05}

export async function synthesize(options: SynthOptions, onProgress: SynthProgress = () => {}): Promise<SynthResult> {
  const started = performance.now()
  const plan = planSynth(options)
  const out = options.output
  await checkOutput(out, options.force ?? false)
  const tmp = `${out}.partial-${process.pid}`
  let fh: FileHandle | undefined
  try {
    fh = await open(tmp, 'w')
    await fh.write(plan.header, 0, plan.header.length, 0)
    if (options.headerOnly) {
      await fh.truncate(plan.fileBytes) // sparse: no blocks allocated for the data section
      onProgress(plan.fileBytes, plan.fileBytes)
    } else {
      await writeData(fh, plan, onProgress, options.signal)
    }
    await fh.close()
    fh = undefined
    await rename(tmp, out)
  } catch (err) {
    await fh?.close().catch(() => {})
    await rm(tmp, {force: true})
    if (err instanceof LlmfragError || options.signal?.aborted) throw err
    throw ioError(err, tmp, 'write')
  }
  return {
    file: out,
    bytes: plan.fileBytes,
    tensors: plan.tensors.length,
    params: plan.params,
    seconds: (performance.now() - started) / 1000,
    architecture: plan.shape.label,
    profile: plan.shape.base.name,
    layers: plan.shape.layers,
    seed: plan.seed,
    headerOnly: options.headerOnly ?? false,
  }
}

async function checkOutput(out: string, force: boolean): Promise<void> {
  const dir = dirname(out)
  if (!existsSync(dir)) {
    throw new LlmfragError('IO', `cannot write ${out}: directory ${dir} does not exist`, {hints: ['create the directory first']})
  }
  const st = await stat(out).catch(() => undefined)
  if (st?.isDirectory()) throw new LlmfragError('BAD_INPUT', `${out} is a directory; give a file name ending in .gguf`)
  if (st && !force) {
    throw new LlmfragError('BAD_INPUT', `${out} already exists`, {hints: ['pass --force to replace it, or choose another name']})
  }
}

/** Two reused buffers: `fill` generates into one while the previous one is being written. */
class DoubleBuffer {
  private readonly bytes: Uint8Array[]
  private readonly words: Uint32Array[]
  private cur = 0
  private pending: Promise<unknown> = Promise.resolve()

  constructor(private readonly fh: FileHandle) {
    const a = new ArrayBuffer(CHUNK), b = new ArrayBuffer(CHUNK)
    this.bytes = [new Uint8Array(a), new Uint8Array(b)]
    this.words = [new Uint32Array(a), new Uint32Array(b)]
  }

  get bytesView(): Uint8Array { return this.bytes[this.cur] }
  get wordsView(): Uint32Array { return this.words[this.cur] }

  /** Writes the first `length` bytes of the current buffer at `position` and switches buffers. */
  async emit(length: number, position: number): Promise<void> {
    await this.pending
    this.pending = this.fh.write(this.bytes[this.cur], 0, length, position)
    this.cur ^= 1
  }

  async drain(): Promise<void> {
    await this.pending
  }
}

async function writeData(fh: FileHandle, plan: SynthPlan, onProgress: SynthProgress, signal?: AbortSignal): Promise<void> {
  const buf = new DoubleBuffer(fh)
  const dataStart = plan.header.length
  let done = dataStart
  onProgress(done, plan.fileBytes)
  try {
    for (const t of plan.tensors) {
      // One PRNG stream per tensor name: a tensor's bytes depend on the seed only, not on order.
      const filler = tensorFiller(t, new Prng(plan.seed, nameHash(t.name)))
      // An even unit count keeps every chunk a whole number of PRNG words (210-byte Q6_K blocks), so
      // the bytes do not depend on CHUNK; 4 spare bytes let the last odd Q6_K chunk fill a whole word.
      const perChunk = 2 * Math.floor((CHUNK - 4) / filler.unitBytes / 2)
      const units = t.bytes / filler.unitBytes
      for (let at = 0; at < units; at += perChunk) {
        signal?.throwIfAborted()
        const n = Math.min(perChunk, units - at)
        filler.fill(buf.bytesView, buf.wordsView, n)
        await buf.emit(n * filler.unitBytes, dataStart + t.offset + at * filler.unitBytes)
        done += n * filler.unitBytes
        onProgress(done, plan.fileBytes)
      }
    }
  } finally {
    await buf.drain()
  }
  // Gaps between tensors (alignment padding) were never written: they read as zeros, as they must.
  onProgress(plan.fileBytes, plan.fileBytes)
}

interface Filler {
  /** Bytes of one unit (a block, or one F32 value). */
  readonly unitBytes: number
  /** Generates `units` units at the start of the buffer (bytes and words view the same memory). */
  fill(bytes: Uint8Array, words: Uint32Array, units: number): void
}

function tensorFiller(t: PlannedTensor, rng: Prng): Filler {
  switch (t.type) {
    case GGMLType.F32:
      return {unitBytes: 4, fill: (_b, words, n) => fillNorm(new Float32Array(words.buffer, words.byteOffset, n), n, WEIGHT_STD.norm, rng)}
    case GGMLType.Q4_K: {
      const headers = q4kHeaders(WEIGHT_STD[t.role], rng)
      return {unitBytes: Q4_K_BYTES, fill: (_b, words, n) => fillQ4K(words, n, rng, headers)}
    }
    case GGMLType.Q6_K: {
      const headers = q6kHeaders(WEIGHT_STD[t.role], rng)
      return {unitBytes: Q6_K_BYTES, fill: (bytes, words, n) => fillQ6K(bytes, words, n, rng, headers)}
    }
    default:
      throw new LlmfragError('INTERNAL', `synth: no generator for tensor type ${t.type} (${t.name})`)
  }
}

/** FNV-1a of a tensor name: its PRNG stream. */
function nameHash(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}
