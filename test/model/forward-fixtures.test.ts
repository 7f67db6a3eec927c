/**
 * The float32 forward pass against the fixtures' exact float64 reference (test/fixtures/README.md
 * "How close should an independent implementation be?"): logits within 1e-3 absolute at every
 * position, and greedy continuations equal to the exact reference's while its top-2 margin stays
 * above 1e-3.
 */
import {expect} from 'chai'

import {loadTransformer} from '../../src/model/load.js'
import type {Transformer} from '../../src/model/transformer.js'
import {openModelSource} from '../../src/source/open.js'
import {argmaxRow, comparableSteps, comparePositions, readFixture, rmsDiff} from '../support/logits.js'

const LOGIT_TOLERANCE = 1e-3
const GREEDY_MIN_MARGIN = 1e-3

for (const name of ['tiny-mistral', 'tiny-magistral']) {
  describe(`forward pass vs exact reference: ${name}`, () => {
    const fixture = readFixture(name)
    let model: Transformer

    before(async () => {
      model = (await loadTransformer(openModelSource(fixture.model), {ctx: 128, kernels: 'reference'})).model
    })

    it('the comparison helpers reproduce the fixture\'s own llama.cpp-vs-exact RMS', () => {
      for (const seq of fixture.sequences) {
        expect(rmsDiff(seq.llamaCpp, seq.exact), seq.name).to.be.closeTo(seq.llamaCppVsExactRms, 1e-6)
        for (const st of comparePositions(seq.llamaCpp, seq.exact, seq.vocab)) expect(st.cosine).to.be.above(0.998)
      }
    })

    for (const seq of fixture.sequences) {
      it(`${seq.name}: logits of all ${seq.tokens.length} positions within ${LOGIT_TOLERANCE} (batch of ${seq.tokens.length})`, () => {
        expect(model.config.vocab).to.equal(seq.vocab)
        model.forward(seq.tokens, 0, true)
        const ours = model.state.logits.slice(0, seq.tokens.length * seq.vocab)
        const stats = comparePositions(ours, seq.exact, seq.vocab)
        stats.forEach((s, p) => {
          expect(s.maxAbs, `position ${p} max abs diff`).to.be.below(LOGIT_TOLERANCE)
          expect(s.argmaxA, `position ${p} argmax`).to.equal(s.argmaxB)
        })
      })

      it(`${seq.name}: greedy continuation equals the exact reference's while its margin > ${GREEDY_MIN_MARGIN}`, () => {
        const ref = seq.greedyExact
        const steps = comparableSteps(ref, GREEDY_MIN_MARGIN)
        expect(steps, 'steps compared').to.be.greaterThan(0)
        model.forward(seq.tokens, 0)
        const got: number[] = []
        let pos = seq.tokens.length
        for (let k = 0; k < steps; k++) {
          const t = argmaxRow(model.state.logits, 0, seq.vocab)
          got.push(t)
          if (k + 1 < steps) model.forward([t], pos++)
        }
        expect(got).to.deep.equal(ref.tokens.slice(0, steps))
      })
    }
  })
}
