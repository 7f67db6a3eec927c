/**
 * A cache of KV-cache prefixes for prompts that recur, such as a system prompt shared by many
 * conversations. The engine already skips the prefix its cache shares with the previous prompt;
 * this keeps prefixes across requests that interleave (client A, client B, client A again): when a
 * prompt starts with a stored prefix longer than what the engine shares, the prefix's keys and
 * values are put back and only the rest is evaluated.
 *
 * Entries are copies (tokens (n), keys and values per layer: (n, kvDim) and (n, kvDimV) float32),
 * kept under a byte budget, least recently used first out. Optionally each entry is also written
 * as a file of tensor frames (src/frames) in a directory and read back at start-up, so a restarted
 * server does not evaluate its system prompts again; frames made by another model are refused
 * (and counted as architecture mismatches) rather than used.
 */
import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import type {CacheContents} from '../engine/index.js'
import {LlmfragError} from '../errors.js'
import {readFramesFile, writeFramesFile} from '../frames/file.js'
import type {Codec, FrameModel, FrameTensor} from '../frames/frame.js'
import {fingerprintHex} from '../frames/fingerprint.js'
import {GGMLType} from '../gguf/ggml-types.js'

export interface PromptCacheEntry {
  readonly contents: CacheContents
  readonly bytes: number
  lastUsed: number
}

export interface PromptCacheStats {
  readonly entries: number
  readonly bytes: number
  readonly hits: number
  readonly misses: number
}

export interface PersistOptions {
  readonly dir: string
  readonly model: FrameModel
  readonly codec: Codec
}

/** Shortest prefix worth keeping: below this, evaluating again is cheaper than the copy. */
export const MIN_PREFIX_TOKENS = 16

function entryBytes(c: CacheContents): number {
  return c.tokens.length * 4 + [...c.keys, ...c.values].reduce((s, a) => s + a.byteLength, 0)
}

function startsWith(prompt: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length > prompt.length) return false
  for (let i = 0; i < prefix.length; i++) if (prompt[i] !== prefix[i]) return false
  return true
}

export class PromptCache {
  private readonly entries = new Map<string, PromptCacheEntry>()
  private bytes = 0
  private hits = 0
  private misses = 0
  private clock = 0

  constructor(readonly budgetBytes: number, private readonly persist?: PersistOptions) {}

  /** The longest stored prefix of `prompt` that is longer than `atLeast` tokens. */
  lookup(prompt: readonly number[], atLeast: number): CacheContents | undefined {
    let best: PromptCacheEntry | undefined
    for (const e of this.entries.values()) {
      const n = e.contents.tokens.length
      if (n > atLeast && n > (best?.contents.tokens.length ?? 0) && startsWith(prompt, e.contents.tokens)) best = e
    }
    if (!best) {
      this.misses++
      return undefined
    }
    this.hits++
    best.lastUsed = ++this.clock
    return best.contents
  }

  has(tokens: readonly number[]): boolean {
    return this.entries.has(key(tokens))
  }

  /**
   * Stores the first `n` positions of `live` (views into the engine's cache, copied here).
   * Returns whether it was stored (not when too short, already there, or over the whole budget).
   */
  async store(live: CacheContents, n: number): Promise<boolean> {
    if (n < MIN_PREFIX_TOKENS || n > live.tokens.length) return false
    const tokens = live.tokens.slice(0, n)
    if (this.has(tokens)) return false
    const kvDim = n === 0 ? 0 : live.keys[0].length / live.tokens.length
    const kvDimV = n === 0 ? 0 : live.values[0].length / live.tokens.length
    const contents: CacheContents = {
      tokens,
      keys: live.keys.map((k) => k.slice(0, n * kvDim)),
      values: live.values.map((v) => v.slice(0, n * kvDimV)),
    }
    const added = this.add(contents)
    if (added && this.persist) await writeEntry(this.persist, contents)
    return added
  }

  /** Reads the entries a previous run wrote for this model; other models' files are reported, not used. */
  async restore(onRefused: (file: string, err: LlmfragError) => void): Promise<number> {
    if (!this.persist) return 0
    const {dir, model} = this.persist
    mkdirSync(dir, {recursive: true})
    const mine = `${fingerprintHex(model.fingerprint).slice(0, 16)}-`
    let restored = 0
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.lfrm')).sort()) {
      if (!name.startsWith(mine)) continue
      try {
        const frames = await readFramesFile(join(dir, name), model)
        const [tok, ...kv] = frames
        const layers = kv.length / 2
        if (tok?.name !== 'tokens' || !Number.isInteger(layers)) throw new LlmfragError('BAD_INPUT', `${name}: not a prompt cache entry`)
        // Frame payloads are fresh buffers; copy one that is not 4-byte aligned.
        const f32 = (d: Uint8Array): Float32Array => (d.byteOffset % 4 === 0 ? new Float32Array(d.buffer, d.byteOffset, d.byteLength / 4) : new Float32Array(d.slice().buffer))
        const contents: CacheContents = {
          tokens: [...new Int32Array(tok.data.slice().buffer)],
          keys: kv.slice(0, layers).map((f) => f32(f.data)),
          values: kv.slice(layers).map((f) => f32(f.data)),
        }
        if (this.add(contents)) restored++
      } catch (err) {
        if (!(err instanceof LlmfragError)) throw err
        onRefused(name, err)
      }
    }
    return restored
  }

  stats(): PromptCacheStats {
    return {entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses}
  }

  private add(contents: CacheContents): boolean {
    const bytes = entryBytes(contents)
    if (bytes > this.budgetBytes || this.has(contents.tokens)) return false
    while (this.bytes + bytes > this.budgetBytes) {
      let oldest: [string, PromptCacheEntry] | undefined
      for (const kv of this.entries) if (!oldest || kv[1].lastUsed < oldest[1].lastUsed) oldest = kv
      if (!oldest) break
      this.entries.delete(oldest[0])
      this.bytes -= oldest[1].bytes
    }
    this.entries.set(key(contents.tokens), {contents, bytes, lastUsed: ++this.clock})
    this.bytes += bytes
    return true
  }
}

function key(tokens: readonly number[]): string {
  return createHash('sha256').update(new Uint8Array(Int32Array.from(tokens).buffer)).digest('hex')
}

/** `tokens` (I32 [n]), then `kv.k.L` for every layer, then `kv.v.L`, each F32 [width, n]. */
async function writeEntry(p: PersistOptions, c: CacheContents): Promise<void> {
  mkdirSync(p.dir, {recursive: true})
  const n = c.tokens.length
  const bytes = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const tensors: FrameTensor[] = [
    {name: 'tokens', dtype: GGMLType.I32, dims: [n], data: bytes(Int32Array.from(c.tokens))},
    ...c.keys.map((k, l) => ({name: `kv.k.${l}`, dtype: GGMLType.F32, dims: [k.length / n, n], data: bytes(k)})),
    ...c.values.map((v, l) => ({name: `kv.v.${l}`, dtype: GGMLType.F32, dims: [v.length / n, n], data: bytes(v)})),
  ]
  const name = `${fingerprintHex(p.model.fingerprint).slice(0, 16)}-${key(c.tokens).slice(0, 16)}.lfrm`
  await writeFramesFile(join(p.dir, name), tensors, p.model, p.codec)
}
