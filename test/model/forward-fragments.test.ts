/**
 * The engine loads a fragment set (plain and zstd-compressed, checksums verified while streaming)
 * into the same weights as the .gguf it was split from: the logits are bit-identical.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Engine} from '../../src/engine/index.js'
import {splitModel} from '../../src/fragments/split.js'
import {readFixture} from '../support/logits.js'

describe('forward pass from a fragment set: tiny-magistral', () => {
  const fixture = readFixture('tiny-magistral')
  const seq = fixture.sequences.find((s) => s.name === 'seq007')
  if (!seq) throw new Error('fixture seq007 missing')
  let dir: string
  let reference: Float32Array

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-forward-fragments-'))
    const engine = await Engine.load(fixture.model, {ctx: 16})
    reference = engine.evaluate(seq.tokens).logits ?? new Float32Array(0)
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  for (const compress of [false, true]) {
    it(`${compress ? 'compressed' : 'plain'} set, verified while loading: the same logits as the .gguf`, async () => {
      const out = join(dir, compress ? 'zst' : 'plain')
      await splitModel(fixture.model, out, {compress})
      const engine = await Engine.load(out, {ctx: 16, verify: true})
      expect(engine.source.kind).to.equal('fragments')
      expect(engine.loadReport.verified).to.equal(true)
      const logits = engine.evaluate(seq.tokens).logits ?? new Float32Array(0)
      expect(logits.length).to.equal(reference.length)
      expect(Buffer.from(logits.buffer).equals(Buffer.from(reference.buffer))).to.equal(true)
    })
  }
})
