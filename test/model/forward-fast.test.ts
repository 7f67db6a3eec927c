/**
 * The fast forward pass (WebAssembly SIMD kernels with 8-bit activations, rows split over a worker
 * pool) against the fixtures' references, at 1 and 2 threads. The 8-bit path approximates the
 * exact reference as llama.cpp does, so the bar is llama.cpp's own distance: RMS from the exact
 * reference within 1.25x `llama_cpp_vs_exact.rms_diff` and cosine >= 0.99 at every position; greedy
 * continuations equal llama.cpp's while its top-2 margin stays above 0.3. Thread count and batching
 * must not change a single bit: each output row is one kernel call whichever thread makes it, and
 * each position's activations are quantized alone.
 */
import {expect} from 'chai'
import {closeSync, mkdtempSync, openSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadTransformer} from '../../src/model/load.js'
import {createFastMatmul} from '../../src/model/matmul-fast.js'
import {isInLaneOrder} from '../../src/model/weight-layouts.js'
import {RunState} from '../../src/model/state.js'
import {Transformer} from '../../src/model/transformer.js'
import {GGMLType} from '../../src/gguf/ggml-types.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {openModelSource} from '../../src/source/open.js'
import {synthesize} from '../../src/synth/synthesize.js'
import {argmaxRow, comparableSteps, comparePositions, readFixture, rmsDiff} from '../support/logits.js'

const RMS_FACTOR = 1.25
const MIN_COSINE = 0.99
const GREEDY_MIN_MARGIN = 0.3

for (const name of ['tiny-mistral', 'tiny-magistral']) {
  const fixture = readFixture(name)
  const logitsAt = new Map<string, Float32Array>() // `${threads}:${seq}` -> batch logits

  for (const threads of [1, 2]) {
    describe(`fast forward pass, ${threads} thread${threads > 1 ? 's' : ''}: ${name}`, () => {
      let model: Transformer

      before(async () => {
        model = (await loadTransformer(openModelSource(fixture.model), {ctx: 96, maxBatch: 40, kernels: 'fast', threads})).model
      })
      after(async () => model.close())

      it(`runs the fast kernels on ${threads} thread${threads > 1 ? 's' : ''}`, () => {
        expect(model.matmul.kernels).to.be.oneOf(['fast', 'relaxed']) // relaxed where the runtime (or an earlier test's flag) has relaxed SIMD
        expect(model.matmul.threads).to.equal(threads)
        // The base build reads every Q4_K and Q6_K matrix in lane order, the relaxed one in file order.
        const w = model.weights
        const mats = [...w.layers.flatMap((l) => [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down]), w.output].filter((m) => m !== w.tokenEmbd)
        const kQuants = mats.filter((m) => m.type === GGMLType.Q4_K || m.type === GGMLType.Q6_K)
        expect(new Set(kQuants.map((m) => m.type)).size, 'the fixture has Q4_K and Q6_K matrices').to.equal(2)
        expect(kQuants.filter((m) => !isInLaneOrder(m)).length).to.equal(model.matmul.kernels === 'fast' ? 0 : kQuants.length)
      })

      for (const seq of fixture.sequences) {
        it(`${seq.name}: RMS from the exact reference <= ${RMS_FACTOR}x llama.cpp's (${seq.llamaCppVsExactRms.toFixed(4)}), cosine >= ${MIN_COSINE} at all ${seq.tokens.length} positions`, () => {
          model.forward(seq.tokens, 0, true)
          const ours = model.state.logits.slice(0, seq.tokens.length * seq.vocab)
          logitsAt.set(`${threads}:${seq.name}`, ours)
          expect(rmsDiff(ours, seq.exact)).to.be.at.most(RMS_FACTOR * seq.llamaCppVsExactRms)
          comparePositions(ours, seq.exact, seq.vocab).forEach((s, p) => expect(s.cosine, `position ${p} cosine`).to.be.at.least(MIN_COSINE))
        })

        it(`${seq.name}: follows llama.cpp's greedy continuation at every step whose margin > ${GREEDY_MIN_MARGIN}`, () => {
          // Teacher-forced: llama.cpp's own tokens are fed back, so a near-tie early on (most
          // sequences open with a margin below 0.3) does not hide every later step.
          const ref = seq.greedyLlamaCpp
          model.forward(seq.tokens, 0)
          let checked = 0
          let pos = seq.tokens.length
          ref.tokens.forEach((want, k) => {
            if (k > 0) model.forward([ref.tokens[k - 1]], pos++)
            if (ref.margin[k] <= GREEDY_MIN_MARGIN) return
            expect(argmaxRow(model.state.logits, 0, seq.vocab), `step ${k} (llama.cpp margin ${ref.margin[k].toFixed(3)})`).to.equal(want)
            checked++
          })
          expect(checked, 'steps compared').to.be.greaterThan(0)
          // And free-running, over the leading steps that are all clear.
          const lead = comparableSteps(ref, GREEDY_MIN_MARGIN)
          model.forward(seq.tokens, 0)
          for (let k = 0; k < lead; k++) {
            const t = argmaxRow(model.state.logits, 0, seq.vocab)
            expect(t, `free-running step ${k}`).to.equal(ref.tokens[k])
            if (k + 1 < lead) model.forward([t], seq.tokens.length + k)
          }
        })
      }

      it('one token at a time gives the batch logits bit for bit', () => {
        const seq = fixture.sequences[fixture.sequences.length - 1]
        const batch = logitsAt.get(`${threads}:${seq.name}`)
        if (!batch) throw new Error('the batch test did not run')
        for (let p = 0; p < seq.tokens.length; p++) {
          model.forward([seq.tokens[p]], p)
          const row = model.state.logits.subarray(0, seq.vocab)
          expect(row.every((v, i) => v === batch[p * seq.vocab + i]), `position ${p}`).to.equal(true)
        }
      })

      if (threads > 1) {
        it('gives the 1-thread logits bit for bit', () => {
          for (const seq of fixture.sequences) {
            const one = logitsAt.get(`1:${seq.name}`)
            const many = logitsAt.get(`${threads}:${seq.name}`)
            if (!one || !many) throw new Error('the batch tests did not run')
            expect(many.every((v, i) => v === one[i]), seq.name).to.equal(true)
          }
        })
      }
    })
  }
}

describe('fast forward pass: batches longer than one job, weights over several memories', () => {
  const fixture = readFixture('tiny-magistral')
  const seq = fixture.sequences[fixture.sequences.length - 1]
  // 70 positions: more than one job's 64, so a batch runs as two jobs per matrix.
  const tokens = Array.from({length: 70}, (_, i) => seq.tokens[i % seq.tokens.length])
  const V = seq.vocab
  let one: Transformer
  let spread: Transformer
  let bytes: Transformer
  let relaxed: Transformer
  let batch: Float32Array

  before(async () => {
    one = (await loadTransformer(openModelSource(fixture.model), {ctx: 96, maxBatch: 80, threads: 2})).model
    // 8 MiB regions: the 16.5 MB model lands in several WebAssembly memories, each with its own scratch.
    spread = (await loadTransformer(openModelSource(fixture.model), {ctx: 96, maxBatch: 80, threads: 2, regionBytes: 8 << 20})).model
    // Every one-position Q6_K product on the byte-activation kernels (by default only rows of 8192 columns; Q4_K has none).
    bytes = (await loadTransformer(openModelSource(fixture.model), {ctx: 96, maxBatch: 80, threads: 2, byteActivationMinCols: 256})).model
    // One position of Q4_K on the relaxed-SIMD build (--relaxed-simd).
    relaxed = (await loadTransformer(openModelSource(fixture.model), {ctx: 96, maxBatch: 80, threads: 2, relaxedSimd: true})).model
    one.forward(tokens, 0, true)
    batch = one.state.logits.slice(0, tokens.length * V)
  })
  after(async () => {
    await one?.close()
    await spread?.close()
    await bytes?.close()
    await relaxed?.close()
  })

  it('a 70-position batch gives the one-token-at-a-time logits bit for bit', () => {
    for (let p = 0; p < tokens.length; p++) {
      one.forward([tokens[p]], p)
      expect(one.state.logits.subarray(0, V).every((v, i) => v === batch[p * V + i]), `position ${p}`).to.equal(true)
    }
  })

  it('one token at a time on the byte-activation kernels gives the batch logits bit for bit', () => {
    for (let p = 0; p < tokens.length; p++) {
      bytes.forward([tokens[p]], p)
      expect(bytes.state.logits.subarray(0, V).every((v, i) => v === batch[p * V + i]), `position ${p}`).to.equal(true)
    }
  })

  it('one token at a time on the relaxed-SIMD kernels (--relaxed-simd, 2 threads) gives the batch logits bit for bit', () => {
    for (let p = 0; p < tokens.length; p++) {
      relaxed.forward([tokens[p]], p)
      expect(relaxed.state.logits.subarray(0, V).every((v, i) => v === batch[p * V + i]), `position ${p}`).to.equal(true)
    }
  })

  it('with the run state in SharedArrayBuffers (float64 JavaScript attention, not the f32 SIMD kernel) the logits keep the fixture\'s bound', async () => {
    expect(one.state.memories.length, 'the run state lies in a WebAssembly memory').to.equal(1)
    const state = new RunState(one.config, {ctx: 96, maxBatch: 80, wasmMemory: false})
    expect(state.memories).to.deep.equal([])
    const js = new Transformer(one.config, one.weights, state, await createFastMatmul(one.weights, state, {threads: 2}))
    try {
      js.forward(seq.tokens, 0, true)
      const ours = js.state.logits.slice(0, seq.tokens.length * V)
      expect(rmsDiff(ours, seq.exact)).to.be.at.most(RMS_FACTOR * seq.llamaCppVsExactRms)
      one.forward(seq.tokens, 0, true)
      expect(ours.some((v, i) => v !== one.state.logits[i]), 'the two attentions are different code').to.equal(true)
    } finally {
      await js.close()
    }
  })

  it('the KV cache spread over several WebAssembly memories (q and the attention output copied to and fro) gives the same logits bit for bit', async () => {
    const c = one.config
    const layerBytes = 96 * (c.kvDim + c.kvDimV) * 4
    const activations = one.state.memories[0].scratch - c.layers * layerBytes // memory 0: activations, then the layers' caches, then scratch
    // Room for the activations, the score scratch and one layer's cache in memory 0; one layer in each of the others.
    const state = new RunState(c, {ctx: 96, maxBatch: 80, maxMemoryBytes: activations + layerBytes + 64 * 96 * 16})
    expect(state.layerMemory).to.deep.equal(Array.from({length: c.layers}, (_, l) => l))
    const spreadKv = new Transformer(c, one.weights, state, await createFastMatmul(one.weights, state, {threads: 2}))
    try {
      spreadKv.forward(tokens, 0, true)
      expect(spreadKv.state.logits.subarray(0, tokens.length * V).every((v, i) => v === batch[i]), 'a 70-position batch').to.equal(true)
      for (let p = 0; p < 8; p++) {
        spreadKv.forward([tokens[p]], p)
        expect(spreadKv.state.logits.subarray(0, V).every((v, i) => v === batch[p * V + i]), `position ${p} alone`).to.equal(true)
      }
    } finally {
      await spreadKv.close()
    }
  })

  it('the same model spread over several memories gives the same logits bit for bit', () => {
    expect(one.weights.arena.memories.length).to.equal(1)
    expect(spread.weights.arena.memories.length).to.be.greaterThan(2)
    spread.forward(tokens, 0, true)
    const got = spread.state.logits.subarray(0, tokens.length * V)
    expect(got.every((v, i) => v === batch[i])).to.equal(true)
  })
})

describe('fast forward pass: rows wider than 32 blocks (the grouped layout)', function () {
  this.timeout(60_000)
  // ffn_down of 16640 columns (65 blocks): stored grouped, swept in five column chunks, by chunks of
  // whole row groups over 2 threads; Q4_K and Q6_K (the first layer's ffn_down has more bits).
  let dir: string
  let fast: Transformer
  let reference: Transformer
  const tokens = [1, 17, 300, 42, 999, 5, 77, 640, 3]

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-grouped-'))
    const model = join(dir, 'wide.gguf')
    await synthesize({architecture: 'mistral_7b', output: model, layers: 2, dim: 256, ffnHidden: 16640, heads: 4, kvHeads: 1, vocab: 2048, seed: 11})
    fast = (await loadTransformer(openModelSource(model), {ctx: 32, maxBatch: 16, threads: 2})).model
    reference = (await loadTransformer(openModelSource(model), {ctx: 32, maxBatch: 16, kernels: 'reference'})).model
  })
  after(async () => {
    await fast?.close()
    await reference?.close()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('one token at a time gives the batch logits bit for bit, near the reference kernels', () => {
    expect(fast.weights.layers.map((l) => l.down.type)).to.include.members([GGMLType.Q4_K, GGMLType.Q6_K])
    const V = fast.config.vocab
    fast.forward(tokens, 0, true)
    const batch = fast.state.logits.slice(0, tokens.length * V)
    reference.forward(tokens, 0, true)
    const ref = reference.state.logits.slice(0, tokens.length * V)
    for (let p = 0; p < tokens.length; p++) {
      fast.forward([tokens[p]], p)
      expect(fast.state.logits.subarray(0, V).every((v, i) => v === batch[p * V + i]), `position ${p}`).to.equal(true)
      const [a, b] = [batch.subarray(p * V, (p + 1) * V), ref.subarray(p * V, (p + 1) * V)]
      let dot = 0, na = 0, nb = 0
      for (let i = 0; i < V; i++) {
        dot += a[i] * b[i]
        na += a[i] * a[i]
        nb += b[i] * b[i]
      }
      expect(dot / Math.sqrt(na * nb), `cosine to the reference kernels' logits at position ${p}`).to.be.at.least(0.99)
    }
  })

  it('a second set of fast kernels over the same weights (bench\'s other thread counts), and the relaxed-SIMD ones, give the same logits bit for bit, and so do the first again', async () => {
    const V = fast.config.vocab
    fast.forward(tokens, 0, true)
    const batch = fast.state.logits.slice(0, tokens.length * V)
    const first = fast.matmul.kernels === 'relaxed' // relaxed where the runtime (or an earlier test's flag) has relaxed SIMD
    for (const relaxedSimd of [first, !first]) { // the other kind last: the weights are left in its order
      const again = new Transformer(fast.config, fast.weights, fast.state, await createFastMatmul(fast.weights, fast.state, {threads: 1, relaxedSimd}))
      try {
        again.forward(tokens, 0, true)
        expect(again.state.logits.subarray(0, tokens.length * V).every((v, i) => v === batch[i]), `relaxedSimd ${relaxedSimd}: batch`).to.equal(true)
        for (let p = 0; p < tokens.length; p++) {
          again.forward([tokens[p]], p)
          expect(again.state.logits.subarray(0, V).every((v, i) => v === batch[p * V + i]), `relaxedSimd ${relaxedSimd}: position ${p}`).to.equal(true)
        }
      } finally {
        await again.matmul.close()
      }
    }
    // The base build's kernels read Q4_K and Q6_K in lane order, the relaxed ones in file order: each set
    // puts the weights back in its order before its products (weight-layouts.ts).
    fast.forward(tokens, 0, true)
    expect(fast.state.logits.subarray(0, tokens.length * V).every((v, i) => v === batch[i]), 'the first kernels again, after the others').to.equal(true)
  })
})

describe('fast kernels: a Q4_K matrix with an infinite scale', function () {
  this.timeout(60_000)
  // The lane-order kernels widen d and dmin exactly only when finite (assembly/q4_k_lanes.ts): a
  // matrix with an inf d stays in file order, whose kernels carry the inf into the product as the
  // reference kernels (and llama.cpp) do, instead of giving a finite wrong value.
  let dir: string
  let fast: Transformer
  let reference: Transformer

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-infscale-'))
    const model = join(dir, 'inf.gguf')
    await synthesize({architecture: 'mistral_7b', output: model, layers: 2, dim: 256, ffnHidden: 512, heads: 4, kvHeads: 1, vocab: 2048, seed: 12})
    const header = readGGUFHeader(model)
    const t = header.tensors.find((x) => x.name === 'blk.1.attn_q.weight')
    expect(t?.type).to.equal(GGMLType.Q4_K)
    const fd = openSync(model, 'r+')
    try {
      writeSync(fd, Buffer.from([0x00, 0x7c]), 0, 2, header.dataOffset + (t?.offset ?? 0) + 5 * 144) // d of block 5 (row 5): +inf
    } finally {
      closeSync(fd)
    }
    fast = (await loadTransformer(openModelSource(model), {ctx: 16, maxBatch: 8, threads: 2, relaxedSimd: false})).model
    reference = (await loadTransformer(openModelSource(model), {ctx: 16, maxBatch: 8, kernels: 'reference'})).model
  })
  after(async () => {
    await fast?.close()
    await reference?.close()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('the matrix stays in file order, and its products are not finite where the reference kernels\' are not and near them elsewhere, one position and several; so for a second set of kernels', async () => {
    const w = fast.weights.layers[1].wq
    expect(isInLaneOrder(fast.weights.layers[0].wq)).to.equal(fast.matmul.kernels === 'fast') // lane order on the base build
    const again = await createFastMatmul(fast.weights, fast.state, {threads: 1, relaxedSimd: false}) // finds the matrix refused before
    try {
      for (const matmul of [fast.matmul, again]) {
        expect(isInLaneOrder(w)).to.equal(false)
        for (const nRows of [1, 3]) {
          const x = Float32Array.from({length: nRows * w.cols}, (_, i) => Math.sin(i * 0.37))
          for (const [m, mm] of [[fast, matmul], [reference, reference.matmul]] as const) {
            m.state.xb.set(x)
            mm.run([m.weights.layers[1].wq], m.state.xb, [m.state.q], nRows) // the run state's own buffers, as the forward pass
          }
          const [got, want] = [fast.state.q.slice(0, nRows * w.rows), reference.state.q.slice(0, nRows * w.rows)]
          const bad = [...want.keys()].filter((i) => !Number.isFinite(want[i]))
          expect(bad, `${nRows} position(s)`).to.deep.equal(Array.from({length: nRows}, (_, p) => p * w.rows + 5))
          expect(got.filter((v, i) => Number.isFinite(v) !== Number.isFinite(want[i])).length, `${nRows} position(s)`).to.equal(0)
          let dot = 0, na = 0, nb = 0 // the finite rows as the 8-bit path approximates them
          got.forEach((v, i) => {
            if (!Number.isFinite(v)) return
            dot += v * want[i]
            na += v * v
            nb += want[i] * want[i]
          })
          expect(dot / Math.sqrt(na * nb), `${nRows} position(s): cosine of the finite rows`).to.be.at.least(0.999)
        }
      }
    } finally {
      await again.close()
    }
  })
})
