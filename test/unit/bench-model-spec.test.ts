/**
 * What `bench --model X` resolves to: a path as given, a configured model, a profile's cached
 * synthetic model, one written by --synthetic (a stand-in writer here: the real one writes GBs),
 * and the refusals; and llama.cpp's anchors looked up per profile, test and thread count.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {defaultCacheDir, resolveBenchModel, syntheticModelPath} from '../../src/bench/model-spec.js'
import {anchorFor} from '../../src/bench/targets.js'
import {LlmfragError} from '../../src/errors.js'
import type {SynthResult} from '../../src/synth/index.js'

describe('bench: resolving --model', () => {
  let dir: string
  const env = {...process.env}
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-bench-spec-'))
    delete process.env.MISTRAL_7B_FRAGMENTS
    delete process.env.MAGISTRAL_FRAGMENTS
  })
  after(() => {
    rmSync(dir, {recursive: true, force: true})
    process.env = env
  })

  const stubSynth = (written: string[]) => async (architecture: string, output: string): Promise<SynthResult> => {
    written.push(`${architecture} ${output}`)
    writeFileSync(output, 'stand-in')
    return {file: output, bytes: 8, tensors: 0, params: 0, seconds: 0, architecture, profile: architecture, layers: 1, seed: 0, headerOnly: false}
  }

  it('takes an existing path as it is', async () => {
    const file = join(dir, 'model.gguf')
    writeFileSync(file, '')
    expect(await resolveBenchModel(file, {synthetic: false, cacheDir: dir})).to.deep.equal({path: file, synthetic: false, via: 'path'})
  })

  it('takes a configured model by name, and the config\'s default model when none is named', async () => {
    const config = join(dir, 'production.json')
    writeFileSync(config, JSON.stringify({models: {small: {model: './tiny.gguf', architecture: 'auto'}}}))
    const want = {path: join(process.cwd(), 'tiny.gguf'), synthetic: false, via: 'config'}
    expect(await resolveBenchModel('small', {config, synthetic: false, cacheDir: dir})).to.deep.equal(want)
    expect(await resolveBenchModel(undefined, {config, synthetic: false, cacheDir: dir})).to.deep.equal(want)
  })

  it('refuses a profile with nothing configured or cached, naming the synth command and --synthetic; writes nothing', async () => {
    const cache = join(dir, 'cache-a')
    const written: string[] = []
    const err = await resolveBenchModel('magistral', {synthetic: false, cacheDir: cache, synth: stubSynth(written)}).catch((e: unknown) => e)
    expect(err).to.be.instanceOf(LlmfragError).with.property('code', 'BAD_INPUT')
    const hints = (err as LlmfragError).hints.join('\n')
    expect(hints).to.include(`llmfrag synth --architecture magistral -o ${syntheticModelPath(cache, 'magistral')}`)
    expect(hints).to.match(/\(1[0-9]\.\d\d GB\)/) // Magistral's synthetic size, about 14 GB
    expect(hints).to.include('llmfrag bench --model magistral --synthetic')
    expect(written).to.deep.equal([])
  })

  it('--synthetic writes the profile\'s model into the cache once, then finds it there', async () => {
    const cache = join(dir, 'cache-b', 'nested')
    const written: string[] = []
    const first = await resolveBenchModel('mistral_7b', {synthetic: true, cacheDir: cache, synth: stubSynth(written)})
    const path = syntheticModelPath(cache, 'mistral_7b')
    expect(first).to.deep.equal({path, synthetic: true, via: 'synthesized'})
    expect(written).to.deep.equal([`mistral_7b ${path}`])
    const again = await resolveBenchModel('mistral_7b', {synthetic: true, cacheDir: cache, synth: stubSynth(written)})
    expect(again).to.deep.equal({path, synthetic: true, via: 'cache'})
    expect(written).to.have.length(1)
    // A cached model is used without --synthetic too.
    expect(await resolveBenchModel('mistral_7b', {synthetic: false, cacheDir: cache})).to.deep.equal({path, synthetic: true, via: 'cache'})
  })

  it('refuses a name that is no path, configured model or profile, and no model at all', async () => {
    const err = await resolveBenchModel('gpt-9', {synthetic: true, cacheDir: dir}).catch((e: unknown) => e)
    expect(err).to.be.instanceOf(LlmfragError).with.property('code', 'IO')
    const none = await resolveBenchModel(undefined, {synthetic: false, cacheDir: dir}).catch((e: unknown) => e)
    expect(none).to.be.instanceOf(LlmfragError).with.property('code', 'BAD_INPUT')
  })

  it('the cache directory follows XDG_CACHE_HOME', () => {
    expect(defaultCacheDir({XDG_CACHE_HOME: '/x/cache'})).to.equal('/x/cache/llmfrag')
    expect(defaultCacheDir({HOME: '/home/u'})).to.match(/\/\.cache\/llmfrag$/)
  })

  it('llama.cpp anchors: per profile, test and thread count', () => {
    expect(anchorFor('mistral_7b', 'tg', 2)?.tokensPerSecond).to.equal(7.45)
    expect(anchorFor('mistral_7b', 'pp', 1)?.tokensPerSecond).to.equal(9.9)
    expect(anchorFor('magistral', 'tg', 2)?.tokensPerSecond).to.equal(1.93)
    expect(anchorFor('magistral', 'pp', 2)).to.equal(undefined)
    expect(anchorFor('llama-family (custom)', 'tg', 2)).to.equal(undefined)
  })
})
