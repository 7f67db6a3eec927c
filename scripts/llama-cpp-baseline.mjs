#!/usr/bin/env node
/**
 * llama.cpp's speed on this machine and this file, for reading `llmfrag bench` against a baseline
 * measured here and now rather than the anchor figures the speed issue quotes (they were measured
 * on another host of this kind; hosts differ by tens of per cent). Uses llama.cpp's prebuilt CPU
 * libraries as node-llama-cpp ships them (it picks the variant for this CPU, e.g. zen4); it is not
 * a dependency of llmfrag, so install it anywhere first:
 *
 *   npm install --prefix /tmp/nlc node-llama-cpp@3.22.1      # from the npm registry, no build
 *   node scripts/llama-cpp-baseline.mjs --model m.gguf --from /tmp/nlc [-p 64] [-n 32] [-t 1,2] [-r 3] [-d 0,1024]
 *
 * As llama-bench: a warm-up run, then per thread count and depth r repetitions of pp (one batch of
 * p prompt tokens) and tg (n tokens one at a time, no sampling), from an empty context or, with -d,
 * after d tokens evaluated once (each test's tokens are erased again after it); weights read into
 * RAM (no mmap). Prints tokens/s as mean ± sd, the test named as llmfrag bench names it.
 */
import {createRequire} from 'node:module'
import {resolve} from 'node:path'
import {parseArgs} from 'node:util'

const {values: opt} = parseArgs({options: {
  model: {type: 'string', short: 'm'},
  from: {type: 'string', default: process.cwd()},
  'n-prompt': {type: 'string', short: 'p', default: '64'},
  'n-gen': {type: 'string', short: 'n', default: '32'},
  threads: {type: 'string', short: 't', default: '2'},
  repetitions: {type: 'string', short: 'r', default: '3'},
  'n-depth': {type: 'string', short: 'd', default: '0'},
}})
if (!opt.model) {
  console.error('usage: node scripts/llama-cpp-baseline.mjs --model FILE.gguf [--from DIR with node_modules/node-llama-cpp] [-p 64] [-n 32] [-t 1,2] [-r 3] [-d 0,1024]')
  process.exit(2)
}
let entry
try {
  entry = createRequire(resolve(opt.from, 'package.json')).resolve('node-llama-cpp')
} catch {
  console.error(`node-llama-cpp is not installed under ${opt.from}: npm install --prefix ${opt.from} node-llama-cpp@3.22.1`)
  process.exit(2)
}
const {getLlama} = await import(entry)
const nPrompt = Number(opt['n-prompt']), nGen = Number(opt['n-gen']), reps = Number(opt.repetitions)
const tokens = (n) => Array.from({length: n}, (_, i) => 1000 + ((i * 7919) % 20000))
const stats = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0
  return `${mean.toFixed(2)} ± ${sd.toFixed(2)}`
}

const llama = await getLlama({gpu: false, build: 'never', logLevel: 'error'})
const model = await llama.loadModel({modelPath: opt.model, gpuLayers: 0, useMmap: false})
console.log(`llama.cpp (node-llama-cpp ${llama.buildType} build, CPU: ${llama.systemInfo.trim()})`)
console.log(`model ${opt.model}`)
console.log('| threads | test | t/s |')
console.log('| ---: | ---: | ---: |')
const depths = opt['n-depth'].split(',').map(Number)
const maxDepth = Math.max(...depths)
for (const threads of opt.threads.split(',').map(Number)) {
  const context = await model.createContext({contextSize: Math.max(512, maxDepth + Math.max(nPrompt, nGen)), threads, batchSize: Math.max(512, nPrompt), sequences: 1})
  const seq = context.getSequence()
  for (const depth of depths) {
    await seq.clearHistory()
    if (depth > 0) await seq.evaluateWithoutGeneratingNewTokens(tokens(depth + 1).slice(1)) // not timed
    const back = async (n) => seq.eraseContextTokenRanges([{start: depth, end: depth + n}])
    const pp = [], tg = []
    for (let r = -1; r < reps; r++) { // r = -1: warm-up
      let t0 = performance.now()
      if (nPrompt > 0) await seq.evaluateWithoutGeneratingNewTokens(tokens(nPrompt))
      const ppMs = performance.now() - t0
      await back(nPrompt)
      t0 = performance.now()
      for (const t of tokens(nGen)) await seq.evaluateWithoutGeneratingNewTokens([t])
      const tgMs = performance.now() - t0
      await back(nGen)
      if (r >= 0) {
        pp.push(nPrompt * 1000 / ppMs)
        tg.push(nGen * 1000 / tgMs)
      }
    }
    const at = depth > 0 ? ` @ d${depth}` : ''
    if (nPrompt > 0) console.log(`| ${threads} | pp${nPrompt}${at} | ${stats(pp)} |`)
    if (nGen > 0) console.log(`| ${threads} | tg${nGen}${at} | ${stats(tg)} |`)
  }
  await context.dispose()
}
await model.dispose()
await llama.dispose()
