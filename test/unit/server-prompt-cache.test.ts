import {expect} from 'chai'
import {mkdtempSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {CacheContents} from '../../src/engine/index.js'
import type {LlmfragError} from '../../src/errors.js'
import {modelFingerprint} from '../../src/frames/fingerprint.js'
import {GGMLType} from '../../src/gguf/ggml-types.js'
import {PromptCache} from '../../src/server/prompt-cache.js'

const LAYERS = 2
const KV = 4

/** A live cache of `tokens` whose key/value floats encode (layer, position, column). */
function live(tokens: number[]): CacheContents {
  const n = tokens.length
  const fill = (l: number, sign: number): Float32Array => Float32Array.from({length: n * KV}, (_, i) => sign * (l * 1000 + Math.floor(i / KV) * 10 + (i % KV)))
  return {tokens, keys: Array.from({length: LAYERS}, (_, l) => fill(l, 1)), values: Array.from({length: LAYERS}, (_, l) => fill(l, -1))}
}

const seq = (from: number, n: number): number[] => Array.from({length: n}, (_, i) => from + i)
const entryBytes = (n: number): number => n * 4 + 2 * LAYERS * n * KV * 4

describe('prompt cache', () => {
  it('stores copies of prefixes and finds the longest one a prompt starts with', async () => {
    const c = new PromptCache(1 << 20)
    const source = live([...seq(1, 20), ...seq(100, 10)])
    expect(await c.store(source, 20)).to.equal(true)
    expect(await c.store(source, 20)).to.equal(false) // already there
    expect(await c.store(source, 5)).to.equal(false) // too short to be worth it
    expect(await c.store(source, 25)).to.equal(true)
    source.keys[0][0] = 99 // the cache holds copies, not views
    const hit = c.lookup([...seq(1, 20), ...seq(100, 5), 7, 8], 0)
    expect(hit?.tokens).to.deep.equal([...seq(1, 20), ...seq(100, 5)])
    expect(hit?.keys[0][0]).to.equal(0)
    expect(hit?.keys[1].length).to.equal(25 * KV)
    expect([...(hit?.values[1].subarray(24 * KV, 25 * KV) ?? [])]).to.deep.equal([-1240, -1241, -1242, -1243])
    expect(c.lookup([...seq(1, 22), 5], 0)?.tokens).to.have.length(20)
    expect(c.lookup([...seq(1, 22), 5], 20)).to.equal(undefined) // the engine already shares 20
    expect(c.lookup([2, 3], 0)).to.equal(undefined)
    expect(c.stats()).to.deep.equal({entries: 2, bytes: entryBytes(20) + entryBytes(25), hits: 2, misses: 2})
  })

  it('evicts the least recently used entries to stay within its budget', async () => {
    const c = new PromptCache(2 * entryBytes(16) + 8)
    await c.store(live(seq(1, 16)), 16)
    await c.store(live(seq(100, 16)), 16)
    c.lookup(seq(1, 16), 0) // the first is now the most recently used
    await c.store(live(seq(200, 16)), 16)
    expect(c.has(seq(1, 16))).to.equal(true)
    expect(c.has(seq(100, 16))).to.equal(false)
    expect(c.has(seq(200, 16))).to.equal(true)
    expect(c.stats().bytes).to.be.at.most(c.budgetBytes)
    expect(await new PromptCache(entryBytes(16) - 1).store(live(seq(1, 16)), 16)).to.equal(false)
  })

  for (const codec of ['raw', 'zstd'] as const) {
    it(`keeps entries on disk as tensor frames (${codec}) and reads them back for the same model only`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'llmfrag-pcache-'))
      try {
        const table = [{name: 'token_embd.weight', type: GGMLType.Q4_K, dims: [256, 64]}]
        const model = {architecture: 'mistral_7b', fingerprint: modelFingerprint(table)}
        const a = new PromptCache(1 << 20, {dir, model, codec})
        await a.store(live(seq(1, 30)), 24)
        const files = readdirSync(dir)
        expect(files).to.have.length(1)
        expect(files[0]).to.match(/^[0-9a-f]{16}-[0-9a-f]{16}\.lfrm$/)

        const b = new PromptCache(1 << 20, {dir, model, codec})
        expect(await b.restore(() => expect.fail('nothing should be refused'))).to.equal(1)
        const hit = b.lookup(seq(1, 26), 0)
        const want = live(seq(1, 24))
        expect(hit?.tokens).to.deep.equal(want.tokens)
        expect(hit?.keys.map((k) => [...k])).to.deep.equal(want.keys.map((k) => [...k]))
        expect(hit?.values.map((v) => [...v])).to.deep.equal(want.values.map((v) => [...v]))

        // Another architecture with the same file name (a copied directory): refused, not used.
        const other = {architecture: 'magistral', fingerprint: model.fingerprint}
        const refused: string[] = []
        const c = new PromptCache(1 << 20, {dir, model: other, codec})
        expect(await c.restore((file, err: LlmfragError) => refused.push(`${err.code}: ${err.message}`))).to.equal(0)
        expect(refused).to.deep.equal(['ARCH_MISMATCH: Architecture mismatch during deserialization. Expected magistral, got mistral_7b'])
        // Files of another model (another fingerprint prefix) are left alone.
        renameSync(join(dir, files[0]), join(dir, `0000000000000000-${files[0].slice(17)}`))
        expect(await new PromptCache(1 << 20, {dir, model, codec}).restore(() => expect.fail('not read'))).to.equal(0)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  }
})
