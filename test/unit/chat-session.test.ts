/**
 * The chat session without a terminal or a model: a scripted engine (real tokenizers from the
 * vocab-only fixtures, replies given as token ids, a KV cache of made-up floats with the engine's
 * prefix reuse) stands in for the Engine. Also the multi-line input assembler and the reply
 * renderer.
 */
import {expect} from 'chai'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {encodeChat} from '../../src/chat/format.js'
import {MultilineInput} from '../../src/chat/multiline.js'
import {type ChatEngine, type ChatSink, ChatSession, type ChatSessionOptions, formatStats, HELP_LINES} from '../../src/chat/session.js'
import type {ThinkChunk} from '../../src/chat/think.js'
import {ReplyRenderer} from '../../src/cli/chat-render.js'
import type {CacheContents, GenerateOptions, GenerationResult, StopReason, TokenCallback} from '../../src/engine/index.js'
import {LlmfragError} from '../../src/errors.js'
import {Metadata} from '../../src/gguf/metadata.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {createTokenizer, type Tokenizer} from '../../src/tokenizer/index.js'

const FIXTURES = 'test/fixtures/vocab-mistral-v03-synth'
const loadVocab = (file: string): Tokenizer => {
  const path = join(FIXTURES, file)
  return createTokenizer(Metadata.of(path, readGGUFHeader(path)))
}
const spm = loadVocab('vocab-mistral-v03-synth.gguf') // mistral-v3 format
const tekken = loadVocab('vocab-tekken-synth-131072.gguf') // mistral-v7-tekken, with [THINK] / [/THINK]

const LAYERS = 2
const K_WIDTH = 3
const V_WIDTH = 2
/** A made-up key/value for a token at a position (what the real model's forward pass would store). */
const kvValue = (token: number, pos: number, layer: number, i: number, v: boolean): number => Math.fround(token / 7 + pos / 8 + layer / 4 + i / 16 + (v ? 0.5 : 0))

/**
 * The Engine's contract as the session sees it: prompts are ids; the cache keeps the longest
 * prefix shared with the previous call (at least the last prompt token is evaluated); replies come
 * from a script of token ids, an end-of-generation id ending one; the signal stops between tokens.
 */
class ScriptedEngine implements ChatEngine {
  readonly loadMs = 12.5
  readonly prompts: number[][] = []
  readonly evaluated: number[] = []
  readonly options: GenerateOptions[] = []
  private cache: number[] = []
  private readonly keys: Float32Array[] // [layer] (ctx, K_WIDTH)
  private readonly values: Float32Array[] // [layer] (ctx, V_WIDTH)

  constructor(readonly tokenizer: Tokenizer, private readonly script: number[][] = [], readonly ctx = 512, private readonly failWith?: LlmfragError) {
    this.keys = Array.from({length: LAYERS}, () => new Float32Array(ctx * K_WIDTH))
    this.values = Array.from({length: LAYERS}, () => new Float32Array(ctx * V_WIDTH))
  }

  get cachedTokens(): readonly number[] {
    return this.cache
  }

  async generate(prompt: string | readonly number[], options: GenerateOptions = {}, onToken?: TokenCallback): Promise<GenerationResult> {
    if (typeof prompt === 'string') throw new Error('the session sends ids')
    const ids = [...prompt]
    this.prompts.push(ids)
    this.options.push(options)
    let keep = 0
    while (keep < Math.min(this.cache.length, ids.length - 1) && this.cache[keep] === ids[keep]) keep++
    this.cache.length = keep
    for (let p = keep; p < ids.length; p++) this.put(ids[p])
    this.evaluated.push(ids.length - keep)
    const maxTokens = options.maxTokens ?? -1
    const tokens: number[] = []
    let text = ''
    let reason: StopReason = 'length'
    if (maxTokens !== 0) {
      const reply = this.script.shift()
      if (reply === undefined) throw new Error('the script has no more replies')
      const decoder = this.tokenizer.streamDecoder({special: options.special ?? false})
      for (const t of reply) {
        if (options.signal?.aborted) {
          reason = 'abort'
          break
        }
        if (this.tokenizer.isEog(t)) {
          reason = 'eog'
          break
        }
        if (this.failWith && tokens.length === 2) throw this.failWith
        tokens.push(t)
        const piece = decoder.push(t)
        text += piece
        if (piece !== '') onToken?.(piece, t)
        if (tokens.length === maxTokens) break
        this.put(t)
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const timings = {loadMs: 0, promptTokens: ids.length - keep, promptMs: 2, promptTokensPerSecond: 500 * (ids.length - keep), generatedTokens: tokens.length, evalRuns: Math.max(0, tokens.length - 1), evalMs: 4, evalTokensPerSecond: 250 * Math.max(0, tokens.length - 1), sampleMs: 0, totalMs: 6}
    return {text, tokens, promptTokens: ids.length, stopReason: reason, seed: 42, timings}
  }

  cacheContents(): CacheContents {
    const n = this.cache.length
    return {tokens: [...this.cache], keys: this.keys.map((k) => k.subarray(0, n * K_WIDTH)), values: this.values.map((v) => v.subarray(0, n * V_WIDTH))}
  }

  restoreCache(c: CacheContents): void {
    const n = c.tokens.length
    if (c.keys.length !== LAYERS || c.keys.some((k) => k.length !== n * K_WIDTH)) throw new LlmfragError('BAD_INPUT', 'saved cache keys: wrong shape')
    c.keys.forEach((k, l) => this.keys[l].set(k))
    c.values.forEach((v, l) => this.values[l].set(v))
    this.cache = [...c.tokens]
  }

  private put(token: number): void {
    const pos = this.cache.length
    for (let l = 0; l < LAYERS; l++) {
      for (let i = 0; i < K_WIDTH; i++) this.keys[l][pos * K_WIDTH + i] = kvValue(token, pos, l, i, false)
      for (let i = 0; i < V_WIDTH; i++) this.values[l][pos * V_WIDTH + i] = kvValue(token, pos, l, i, true)
    }
    this.cache.push(token)
  }
}

/** Collects what the session sends to the terminal. */
class Sink implements ChatSink {
  chunks: ThinkChunk[] = []
  lines: string[] = []
  reply(c: ThinkChunk): void { this.chunks.push(c) }
  info(line: string): void { this.lines.push(line) }
  text(kind: ThinkChunk['kind']): string { return this.chunks.filter((c) => c.kind === kind).map((c) => c.text).join('') }
}

const words = (tok: Tokenizer, s: string): number[] => tok.encode(s, {addSpecial: false})
const eos = (tok: Tokenizer): number => tok.eos ?? -1
const MODEL = {architecture: 'llama-family (custom)', fingerprint: new Uint8Array(32).fill(7)}
const OTHER_MODEL = {architecture: 'llama-family (custom)', fingerprint: new Uint8Array(32).fill(9)}

function session(engine: ScriptedEngine, extra: Partial<ChatSessionOptions> = {}): ChatSession {
  return new ChatSession({engine, frameModel: MODEL, ...extra})
}

describe('chat multi-line input', () => {
  it('joins lines ending in \\ with newlines', () => {
    const m = new MultilineInput()
    expect(m.push('first \\')).to.equal(undefined)
    expect(m.pending).to.equal(true)
    expect(m.push('second\\')).to.equal(undefined)
    expect(m.push('third')).to.deep.equal({text: 'first \nsecond\nthird', literal: false})
    expect(m.pending).to.equal(false)
    expect(m.push('plain')).to.deep.equal({text: 'plain', literal: false})
  })

  it('takes a """ block verbatim (backslashes and / included) until a line ending in """', () => {
    const m = new MultilineInput()
    expect(m.push('"""')).to.equal(undefined)
    expect(m.push('/not a command \\')).to.equal(undefined)
    expect(m.push('')).to.equal(undefined)
    expect(m.push('  indented')).to.equal(undefined)
    expect(m.push('"""')).to.deep.equal({text: '/not a command \\\n\n  indented', literal: true})
    expect(m.push('"""Dear model,')).to.equal(undefined)
    expect(m.push('hello."""')).to.deep.equal({text: 'Dear model,\nhello.', literal: true})
    expect(m.push('"""one line"""')).to.deep.equal({text: 'one line', literal: true})
  })

  it('clear() drops unfinished input; end() returns it when the stream ends', () => {
    const m = new MultilineInput()
    m.push('"""')
    m.push('lost')
    expect(m.clear()).to.equal(true)
    expect(m.push('next')).to.deep.equal({text: 'next', literal: false})
    expect(m.clear()).to.equal(false)
    m.push('unclosed \\')
    expect(m.end()).to.deep.equal({text: 'unclosed ', literal: false})
    expect(m.end()).to.equal(undefined)
  })
})

describe('chat session: messages', () => {
  it('renders the first prompt as the chat format does and streams the reply', async () => {
    const reply = words(spm, 'Hello there friend')
    const engine = new ScriptedEngine(spm, [[...reply, eos(spm)]])
    const s = session(engine, {sampling: {temperature: 0}, maxTokens: 50})
    expect(s.format).to.equal('mistral-v3')
    const sink = new Sink()
    const r = await s.send('Hi', sink)
    expect(engine.prompts[0]).to.deep.equal(encodeChat(spm, 'mistral-v3', [{role: 'user', content: 'Hi'}]))
    expect(engine.options[0]).to.include({maxTokens: 50, special: false})
    expect(engine.options[0].sampling).to.deep.equal({temperature: 0})
    expect(sink.chunks.length).to.equal(reply.length) // one chunk per token: streamed
    expect(sink.text('answer')).to.equal(r.answer)
    expect(r.answer.trim()).to.equal('Hello there friend')
    expect(r).to.include({kept: true, stopReason: 'eog', generatedTokens: reply.length, promptTokens: engine.prompts[0].length, seed: 42})
    expect(s.messages).to.deep.equal([{role: 'user', content: 'Hi'}, {role: 'assistant', content: r.answer}])
  })

  it('sends earlier replies as their generated ids, so each prompt extends the cached tokens (mistral-v7-tekken)', async () => {
    const r1 = words(tekken, 'One two three')
    const r2 = words(tekken, 'Four five')
    const engine = new ScriptedEngine(tekken, [[...r1, eos(tekken)], [...r2, eos(tekken)], [eos(tekken)]])
    const s = session(engine, {system: 'Be brief.'})
    expect(s.format).to.equal('mistral-v7-tekken')
    await s.send('Count', new Sink())
    await s.send('More', new Sink())
    await s.send('Stop', new Sink())
    const [p1, p2, p3] = engine.prompts
    expect(p2.slice(0, p1.length + r1.length)).to.deep.equal([...p1, ...r1])
    expect(p2[p1.length + r1.length]).to.equal(eos(tekken))
    expect(p3.slice(0, p2.length + r2.length)).to.deep.equal([...p2, ...r2])
    // The replies ended with an end-of-generation token, so each was evaluated whole: only the new message is.
    const newPart = (p: number[], q: number[], r: number[]): number => q.length - (p.length + r.length)
    expect(engine.evaluated).to.deep.equal([p1.length, newPart(p1, p2, r1), newPart(p2, p3, r2)])
    expect(s.stats()).to.include({messages: 6, contextTokens: p3.length, ctx: 512, loadMs: 12.5})
  })

  it('keeps thoughts apart from the answer and sends back only the answer (tekken vocab with [THINK])', async () => {
    const think = tekken.tokenId('[THINK]') ?? -1
    const unthink = tekken.tokenId('[/THINK]') ?? -1
    const reply = [think, ...words(tekken, 'Let me see.'), unthink, ...words(tekken, 'Four.'), eos(tekken)]
    const engine = new ScriptedEngine(tekken, [reply, [eos(tekken)]])
    const s = session(engine)
    const sink = new Sink()
    const r = await s.send('2+2?', sink)
    expect(engine.options[0].special).to.equal(true)
    expect(sink.chunks.map((c) => c.kind).filter((k, i, a) => k !== a[i - 1])).to.deep.equal(['thinking', 'answer'])
    expect(sink.text('thinking')).to.equal('Let me see.')
    expect(r).to.include({thinking: 'Let me see.', answer: 'Four.'})
    expect(s.messages.at(-1)).to.deep.equal({role: 'assistant', content: 'Four.'})
    await s.send('Sure?', new Sink())
    expect(engine.prompts[1]).to.deep.equal(encodeChat(tekken, 'mistral-v7-tekken', [
      {role: 'user', content: '2+2?'}, {role: 'assistant', content: 'Four.'}, {role: 'user', content: 'Sure?'},
    ]))
  })

  it('keeps a reply stopped by the signal as far as it got; drops a turn stopped before its first token', async () => {
    const reply = words(spm, 'alpha beta gamma delta epsilon')
    const engine = new ScriptedEngine(spm, [[...reply, eos(spm)], [...reply]])
    const s = session(engine)
    const stop = new AbortController()
    const sink = new Sink()
    sink.reply = (c) => {
      sink.chunks.push(c)
      if (sink.chunks.length === 2) stop.abort()
    }
    const r = await s.send('Go', sink, stop.signal)
    expect(r).to.include({stopReason: 'abort', generatedTokens: 2, kept: true})
    expect(s.messages[1]).to.deep.equal({role: 'assistant', content: sink.text('answer')})
    expect(r.answer).to.equal(sink.text('answer'))
    const before = new AbortController()
    before.abort()
    const r2 = await s.send('Again', new Sink(), before.signal)
    expect(r2).to.include({stopReason: 'abort', generatedTokens: 0, kept: false})
    expect(s.messages).to.have.length(2)
  })

  it('lets CONTEXT_FULL through and does not keep the turn', async () => {
    const full = new LlmfragError('CONTEXT_FULL', 'the context is full')
    const engine = new ScriptedEngine(spm, [words(spm, 'a b c d e f')], 512, full)
    const s = session(engine)
    const sink = new Sink()
    let caught: unknown
    try {
      await s.send('Hi', sink)
    } catch (err) {
      caught = err
    }
    expect(caught).to.equal(full)
    expect(sink.chunks.length).to.equal(2) // what was shown before the error
    expect(s.messages).to.deep.equal([])
  })
})

describe('chat session: commands', () => {
  const run = async (s: ChatSession, text: string, literal = false): Promise<{outcome: string; lines: string[]; sink: Sink}> => {
    const sink = new Sink()
    const outcome = await s.handle({text, literal}, sink)
    return {outcome, lines: sink.lines, sink}
  }

  it('/help lists every command; /exit, /quit and /bye leave; empty input does nothing', async () => {
    const s = session(new ScriptedEngine(spm))
    const help = await run(s, '/help')
    expect(help.lines).to.deep.equal([...HELP_LINES])
    for (const c of ['/help', '/reset', '/system', '/save', '/load', '/stats', '/exit']) expect(help.lines.join('\n')).to.include(c)
    for (const c of ['/exit', '/quit', ' /bye ']) expect((await run(s, c)).outcome).to.equal('exit')
    expect(await run(s, '   ')).to.deep.include({outcome: 'continue', lines: []})
  })

  it('/system shows, sets and removes the system prompt; /reset keeps it and forgets the turns', async () => {
    const engine = new ScriptedEngine(spm, [[...words(spm, 'ok'), eos(spm)], [eos(spm)]])
    const s = session(engine, {system: 'Be kind.'})
    expect((await run(s, '/system')).lines).to.deep.equal(['system prompt: Be kind.'])
    await run(s, 'Hello')
    expect((await run(s, '/system Be brief.\nVery brief.')).outcome).to.equal('continue')
    expect(s.systemPrompt).to.equal('Be brief.\nVery brief.')
    await run(s, 'Again')
    // mistral-v3 puts the system prompt before the last user message
    expect(spm.decode(engine.prompts[1])).to.include('Be brief.\nVery brief.\n\nAgain')
    expect((await run(s, '/reset')).lines).to.deep.equal(['conversation cleared (the system prompt stays)'])
    expect(s.messages).to.deep.equal([{role: 'system', content: 'Be brief.\nVery brief.'}])
    expect((await run(s, '/system --clear')).lines).to.deep.equal(['system prompt removed'])
    expect((await run(s, '/system')).lines).to.deep.equal(['(no system prompt)'])
  })

  it('a """ block starting with / is a message; unknown commands and /save without a file are BAD_INPUT', async () => {
    const engine = new ScriptedEngine(spm, [[eos(spm)]])
    const s = session(engine)
    await run(s, '/etc/hosts is a file', true)
    expect(s.messages[0]).to.deep.equal({role: 'user', content: '/etc/hosts is a file'})
    for (const [text, message] of [['/frobnicate', 'unknown command /frobnicate'], ['/save', '/save needs a file name'], ['/load  ', '/load needs a file name']]) {
      let caught: unknown
      try {
        await run(s, text)
      } catch (err) {
        caught = err
      }
      expect(caught, text).to.be.instanceOf(LlmfragError)
      expect(caught).to.include({code: 'BAD_INPUT', message})
    }
  })

  it('/stats gives context use, the last reply\'s speeds and the load time', async () => {
    const engine = new ScriptedEngine(spm, [[...words(spm, 'one two three'), eos(spm)]])
    const s = session(engine)
    expect((await run(s, '/stats')).lines).to.deep.equal(['context: 0 / 512 tokens (0.0%), 0 messages', 'last reply: none yet', 'load time: 13 ms'])
    const r = await s.send('Hi', new Sink())
    const lines = (await run(s, '/stats')).lines
    const n = engine.cachedTokens.length
    expect(lines[0]).to.equal(`context: ${n} / 512 tokens (${(100 * n / 512).toFixed(1)}%), 2 messages`)
    expect(lines[1]).to.equal(`last reply: prompt ${r.evaluatedTokens} of ${r.promptTokens} tokens evaluated at ${(500 * r.evaluatedTokens).toFixed(2)} tokens/s`)
    expect(lines[2]).to.match(new RegExp(`generated ${r.generatedTokens} tokens at [\\d.]+ tokens/s \\(ended by the model, seed 42\\)`))
    expect(formatStats(s.stats())).to.deep.equal(lines)
  })
})

describe('chat session: /save and /load', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'llmfrag-chat-session-')) })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  async function saved(): Promise<{engine: ScriptedEngine; s: ChatSession; file: string; cache: CacheContents}> {
    const think = tekken.tokenId('[THINK]') ?? -1
    const unthink = tekken.tokenId('[/THINK]') ?? -1
    const engine = new ScriptedEngine(tekken, [
      [...words(tekken, 'Hello, human.'), eos(tekken)],
      [think, ...words(tekken, 'Hmm.'), unthink, ...words(tekken, 'Fine.'), eos(tekken)],
    ])
    const s = session(engine, {system: 'You are terse.'})
    await s.send('Hi', new Sink())
    await s.send('How are you?', new Sink())
    const file = join(dir, 'chat.json')
    const sink = new Sink()
    await s.handle({text: `/save ${file}`}, sink)
    expect(sink.lines[0]).to.equal(`saved 5 messages to ${file} (${readFileSync(file).length} bytes)`)
    expect(sink.lines[1]).to.match(new RegExp(`^saved the KV cache \\(${engine.cachedTokens.length} tokens, [\\d.]+ KiB\\) to ${file}\\.kv$`))
    return {engine, s, file, cache: engine.cacheContents()}
  }

  it('writes the conversation as JSON (thoughts and generated ids kept) and the KV cache beside it, atomically', async () => {
    const {engine, file} = await saved()
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    expect(doc).to.include({format: 'llmfrag-chat', version: 1})
    expect(doc.model).to.deep.equal({architecture: MODEL.architecture, fingerprint: '07'.repeat(32), chat_format: 'mistral-v7-tekken'})
    expect(doc.kv).to.deep.equal({file: 'chat.json.kv', tokens: engine.cachedTokens.length})
    expect(doc.messages).to.deep.equal([
      {role: 'system', content: 'You are terse.'},
      {role: 'user', content: 'Hi'},
      {role: 'assistant', content: 'Hello, human.', tokens: words(tekken, 'Hello, human.')},
      {role: 'user', content: 'How are you?'},
      {role: 'assistant', content: 'Fine.', thinking: 'Hmm.'},
    ])
    expect(readdirSync(dir).sort()).to.deep.equal(['chat.json', 'chat.json.kv'])
  })

  it('/load restores the KV cache bit for bit, so the next turn evaluates only what the cache lacks', async () => {
    const {engine: first, file, cache} = await saved()
    const secondPrompt = first.prompts[1]
    const engine = new ScriptedEngine(tekken, [[...words(tekken, 'Good.'), eos(tekken)]])
    const s = session(engine)
    const sink = new Sink()
    await s.handle({text: `/load ${file}`}, sink)
    expect(sink.lines).to.deep.equal([`loaded 5 messages from ${file}`, `restored the KV cache (${cache.tokens.length} tokens) from ${file}.kv`])
    expect(engine.prompts).to.deep.equal([]) // nothing evaluated on load
    const restored = engine.cacheContents()
    expect(restored.tokens).to.deep.equal(cache.tokens)
    const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength)
    restored.keys.forEach((k, l) => expect(bytes(k).equals(bytes(cache.keys[l])), `keys of layer ${l}`).to.equal(true))
    restored.values.forEach((v, l) => expect(bytes(v).equals(bytes(cache.values[l])), `values of layer ${l}`).to.equal(true))
    expect(s.systemPrompt).to.equal('You are terse.')
    expect(s.messages).to.have.length(5)

    await s.send('And now?', new Sink())
    const prompt = engine.prompts[0]
    let shared = 0
    while (shared < Math.min(prompt.length - 1, cache.tokens.length) && prompt[shared] === cache.tokens[shared]) shared++
    // The whole second prompt (first reply as generated ids) is reused; the thinking reply is sent as its answer text.
    expect(shared).to.be.at.least(secondPrompt.length)
    expect(engine.evaluated[0]).to.equal(prompt.length - shared)
  })

  it('/load without the KV file, or with one from another model, evaluates the conversation instead', async () => {
    const {file} = await saved()
    rmSync(`${file}.kv`)
    const engine = new ScriptedEngine(tekken)
    const sink = new Sink()
    await session(engine).handle({text: `/load ${file}`}, sink)
    expect(sink.lines[1]).to.match(/^the KV cache was not restored: cannot read .*chat\.json\.kv: no such file or directory$/)
    expect(sink.lines[2]).to.match(/^evaluated the conversation: \d+ tokens in \d+ ms$/)
    expect(engine.options[0].maxTokens).to.equal(0)
    // the generated ids are used again: the prompt evaluated holds them, not a re-tokenized reply
    expect(engine.prompts[0].join(',')).to.include(words(tekken, 'Hello, human.').join(','))

    const {file: file2} = await saved()
    const other = new ScriptedEngine(tekken)
    const sink2 = new Sink()
    await new ChatSession({engine: other, frameModel: OTHER_MODEL}).handle({text: `/load ${file2}`}, sink2)
    expect(sink2.lines[1]).to.match(/^the KV cache was not restored: Model mismatch during deserialization/)
    expect(other.prompts[0]).to.deep.equal(encodeChat(tekken, 'mistral-v7-tekken', [
      {role: 'system', content: 'You are terse.'}, {role: 'user', content: 'Hi'}, {role: 'assistant', content: 'Hello, human.'},
      {role: 'user', content: 'How are you?'}, {role: 'assistant', content: 'Fine.'},
    ]))
  })

  it('refuses damaged chat files naming the field, and leaves the conversation as it was', async () => {
    const engine = new ScriptedEngine(spm, [[...words(spm, 'kept'), eos(spm)]])
    const s = session(engine)
    await s.send('Hi', new Sink())
    const cases: Array<[unknown, RegExp]> = [
      [{format: 'other'}, /: format: expected "llmfrag-chat", got "other"$/],
      [{format: 'llmfrag-chat', version: 1, messages: [{role: 'robot', content: 'x'}]}, /: messages\[0\]\.role: expected one of system, user, assistant, got "robot"$/],
      [{format: 'llmfrag-chat', version: 1, messages: [{role: 'user', content: 3}]}, /: messages\[0\]\.content: expected a string, got number$/],
      [{format: 'llmfrag-chat', version: 1, messages: [], kv: {file: '../elsewhere.kv', tokens: 3}}, /: kv\.file: expected a plain file name, got "\.\.\/elsewhere\.kv"$/],
    ]
    for (const [doc, message] of cases) {
      const file = join(dir, 'bad.json')
      writeFileSync(file, JSON.stringify(doc))
      let caught: unknown
      try {
        await s.load(file)
      } catch (err) {
        caught = err
      }
      expect(caught).to.be.instanceOf(LlmfragError).with.property('code', 'BAD_INPUT')
      expect((caught as Error).message).to.match(message)
    }
    writeFileSync(join(dir, 'v2.json'), JSON.stringify({format: 'llmfrag-chat', version: 2, messages: []}))
    let caught: unknown
    try {
      await s.load(join(dir, 'v2.json'))
    } catch (err) {
      caught = err
    }
    expect(caught).to.be.instanceOf(LlmfragError).with.property('code', 'UNSUPPORTED')
    caught = undefined
    try {
      await s.load(join(dir, 'missing.json'))
    } catch (err) {
      caught = err
    }
    expect(caught).to.be.instanceOf(LlmfragError).with.property('code', 'IO')
    expect((caught as Error).message).to.match(/missing\.json: no such file or directory$/)
    expect(s.messages).to.have.length(2)
  })
})

describe('chat reply renderer', () => {
  const render = (tty: boolean, chunks: ThinkChunk[]): string => {
    let out = ''
    const r = new ReplyRenderer((s) => { out += s }, {tty, dim: (s) => `<dim>${s}</dim>`})
    for (const c of chunks) r.chunk(c)
    r.end()
    return out
  }
  const reply: ThinkChunk[] = [{kind: 'thinking', text: 'Let me'}, {kind: 'thinking', text: ' see.'}, {kind: 'answer', text: 'Four.'}]

  it('dims thoughts on a terminal and sets the answer apart on its own line', () => {
    expect(render(true, reply)).to.equal('<dim>Let me</dim><dim> see.</dim>\n\nFour.\n')
  })

  it('keeps the [THINK] tags elsewhere, closing them if the reply stops inside', () => {
    expect(render(false, reply)).to.equal('[THINK]Let me see.[/THINK]Four.\n')
    expect(render(false, reply.slice(0, 1))).to.equal('[THINK]Let me[/THINK]\n')
    expect(render(false, [{kind: 'answer', text: 'Done.\n'}])).to.equal('Done.\n')
  })
})
