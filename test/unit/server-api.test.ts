import {expect} from 'chai'
import {request} from 'node:http'

import {http, json, parsePrometheus, sampleSum, sseEvents, startFake, streamedChatText, type FakeServer} from './server-helpers.js'

describe('server API (fake backend)', () => {
  let s: FakeServer
  before(async () => {
    s = await startFake([{id: 'fake', nCtx: 64, tokenMs: 0}])
  })
  after(async () => {
    await s.server.stop()
  })

  it('lists the model in /v1/models', async () => {
    const r = await json(s.port, 'GET', '/v1/models')
    expect(r.status).to.equal(200)
    expect(r.body.object).to.equal('list')
    expect(r.body.data).to.deep.equal([{id: 'fake', object: 'model', created: 1700000000, owned_by: 'llmfrag', architecture: 'mistral_7b', context_length: 64}])
  })

  it('answers a completion, and the same text streamed with the same seed', async () => {
    const req = {model: 'fake', prompt: 'Once', max_tokens: 6, seed: 7}
    const plain = await json(s.port, 'POST', '/v1/completions', req)
    expect(plain.status).to.equal(200)
    expect(plain.body.object).to.equal('text_completion')
    const choice = (plain.body.choices as Array<{text: string; finish_reason: string}>)[0]
    expect(choice.finish_reason).to.equal('length')
    expect(choice.text.split(' ')).to.have.length(6)
    expect(plain.body.usage).to.deep.equal({prompt_tokens: 5, completion_tokens: 6, total_tokens: 11})

    const streamed = await http(s.port, 'POST', '/v1/completions', {...req, stream: true})
    expect(streamed.status).to.equal(200)
    expect(streamed.headers['content-type']).to.match(/^text\/event-stream/)
    const events = sseEvents(streamed.text)
    expect(events.at(-1)).to.equal('[DONE]')
    let text = ''
    for (const e of events) if (e !== '[DONE]') text += (e.choices as Array<{text: string}>)[0].text
    expect(text).to.equal(choice.text)
    const last = events.at(-2) as {choices: Array<{finish_reason: string}>}
    expect(last.choices[0].finish_reason).to.equal('length')
  })

  it('answers a chat completion, streamed and not, with the same text; thinking goes to reasoning_content', async () => {
    const req = {model: 'fake', messages: [{role: 'system', content: 'be brief'}, {role: 'user', content: 'THINK hi'}], max_tokens: 5, seed: 3}
    const plain = await json(s.port, 'POST', '/v1/chat/completions', req)
    expect(plain.status).to.equal(200)
    expect(plain.body.object).to.equal('chat.completion')
    const msg = (plain.body.choices as Array<{message: {role: string; content: string; reasoning_content?: string}}>)[0].message
    expect(msg.role).to.equal('assistant')
    expect(msg.reasoning_content).to.be.a('string').and.not.equal('')
    const streamed = sseEvents((await http(s.port, 'POST', '/v1/chat/completions', {...req, stream: true, stream_options: {include_usage: true}})).text)
    expect(streamed.at(-1)).to.equal('[DONE]')
    const first = streamed[0] as {object: string; choices: Array<{delta: {role?: string}}>}
    expect(first.object).to.equal('chat.completion.chunk')
    expect(first.choices[0].delta.role).to.equal('assistant')
    expect(streamedChatText(streamed)).to.equal(msg.content)
    const usageChunk = streamed.at(-2) as {choices: unknown[]; usage: {completion_tokens: number}}
    expect(usageChunk.choices).to.deep.equal([])
    expect(usageChunk.usage.completion_tokens).to.equal(5)
  })

  it('stops at a stop string without including it', async () => {
    const base = await json(s.port, 'POST', '/v1/completions', {prompt: 'stop test', max_tokens: 8, seed: 11})
    const text = (base.body.choices as Array<{text: string}>)[0].text
    const stopWord = text.split(' ')[2]
    const r = await json(s.port, 'POST', '/v1/completions', {prompt: 'stop test', max_tokens: 8, seed: 11, stop: [' ' + stopWord]})
    const choice = (r.body.choices as Array<{text: string; finish_reason: string}>)[0]
    expect(choice.finish_reason).to.equal('stop')
    expect(choice.text).to.equal(text.slice(0, text.indexOf(' ' + stopWord)))
  })

  const bad: Array<[string, string, unknown, number, string]> = [
    ['malformed JSON', '/v1/completions', '{"prompt": "x",', 400, 'invalid_json'],
    ['a body that is not an object', '/v1/completions', '[1,2]', 400, 'invalid_type'],
    ['a missing prompt', '/v1/completions', {model: 'fake', max_tokens: 3}, 400, 'missing_required_parameter'],
    ['a missing messages', '/v1/chat/completions', {model: 'fake'}, 400, 'missing_required_parameter'],
    ['a bad role', '/v1/chat/completions', {messages: [{role: 'wizard', content: 'x'}]}, 400, 'invalid_value'],
    ['an unknown model', '/v1/completions', {model: 'gpt-9', prompt: 'x'}, 404, 'model_not_found'],
    ['a prompt longer than the context', '/v1/completions', {prompt: 'x'.repeat(80)}, 400, 'context_length_exceeded'],
    ['prompt plus max_tokens over the context', '/v1/completions', {prompt: 'x'.repeat(40), max_tokens: 40}, 400, 'context_length_exceeded'],
    ['a negative max_tokens', '/v1/completions', {prompt: 'x', max_tokens: -5}, 400, 'invalid_value'],
    ['a fractional max_tokens', '/v1/completions', {prompt: 'x', max_tokens: 2.5}, 400, 'invalid_type'],
    ['a temperature out of range', '/v1/chat/completions', {messages: [{role: 'user', content: 'x'}], temperature: 7}, 400, 'invalid_value'],
    ['n > 1', '/v1/completions', {prompt: 'x', n: 2}, 400, 'invalid_value'],
    ['logprobs', '/v1/completions', {prompt: 'x', logprobs: 3}, 400, 'unsupported_parameter'],
    ['a prompt the tokenizer refuses', '/v1/completions', {prompt: 'a\u0000b'}, 400, 'invalid_prompt'],
  ]
  for (const [what, path, body, status, code] of bad) {
    it(`refuses ${what} with ${status} ${code} and keeps serving`, async () => {
      const r = await json(s.port, 'POST', path, body)
      expect(r.status).to.equal(status)
      const err = r.body.error as {message: string; type: string; code: string}
      expect(err.code).to.equal(code)
      expect(err.type).to.be.a('string')
      expect(err.message).to.be.a('string').and.not.equal('')
      const ok = await json(s.port, 'POST', '/v1/completions', {prompt: 'still there?', max_tokens: 2})
      expect(ok.status).to.equal(200)
    })
  }

  it('answers unknown routes with 404 and wrong methods with 405, as JSON', async () => {
    const a = await json(s.port, 'GET', '/v2/nothing')
    expect(a.status).to.equal(404)
    expect((a.body.error as {code: string}).code).to.equal('not_found')
    const b = await json(s.port, 'GET', '/v1/completions')
    expect(b.status).to.equal(405)
  })

  it('answers a failed generation with 500 and keeps serving', async () => {
    const r = await json(s.port, 'POST', '/v1/completions', {prompt: 'please FAIL', max_tokens: 2})
    expect(r.status).to.equal(500)
    expect((r.body.error as {type: string}).type).to.equal('server_error')
    const ok = await json(s.port, 'POST', '/v1/completions', {prompt: 'ok', max_tokens: 2})
    expect(ok.status).to.equal(200)
  })

  it('counts requests, errors and tokens in /metrics (Prometheus text)', async () => {
    const before = parsePrometheus((await http(s.metricsPort, 'GET', '/metrics')).text)
    await json(s.port, 'POST', '/v1/completions', {prompt: 'count me', max_tokens: 4})
    await json(s.port, 'POST', '/v1/completions', '{broken')
    const r = await http(s.metricsPort, 'GET', '/metrics')
    expect(r.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/)
    const after = parsePrometheus(r.text)
    const delta = (name: string, labels: Record<string, string> = {}): number => sampleSum(after.samples, name, labels) - sampleSum(before.samples, name, labels)
    expect(delta('llmfrag_requests_total', {endpoint: '/v1/completions', status: '200'})).to.equal(1)
    expect(delta('llmfrag_requests_total', {endpoint: '/v1/completions', status: '400'})).to.equal(1)
    expect(delta('llmfrag_errors_total', {kind: 'client'})).to.equal(1)
    expect(delta('llmfrag_generated_tokens_total', {model: 'fake'})).to.equal(4)
    expect(delta('llmfrag_prompt_tokens_total', {model: 'fake'})).to.equal(9)
    expect(delta('llmfrag_request_duration_seconds_count', {endpoint: '/v1/completions'})).to.equal(2)
    expect(after.types.get('llmfrag_requests_total')).to.equal('counter')
    expect(after.types.get('llmfrag_request_duration_seconds')).to.equal('histogram')
    for (const name of ['llmfrag_queue_depth', 'llmfrag_ms_per_token', 'llmfrag_uptime_seconds', 'llmfrag_architecture_mismatches_total', 'llmfrag_memory_usage_ratio']) {
      expect(after.types.has(name), name).to.equal(true)
    }
    expect(sampleSum(after.samples, 'llmfrag_memory_bytes', {kind: 'rss'})).to.be.greaterThan(0)
    expect(sampleSum(after.samples, 'llmfrag_model_blocks_resident', {model: 'fake'})).to.equal(2)
  })

  it('serves 20 concurrent clients one generation at a time, every answer complete', async () => {
    const slow = await startFake([{id: 'slow', tokenMs: 2}])
    try {
      const results = await Promise.all(Array.from({length: 20}, (_, i) =>
        json(slow.port, 'POST', i % 2 ? '/v1/completions' : '/v1/chat/completions',
          i % 2 ? {prompt: `client ${i}`, max_tokens: 5, seed: i} : {messages: [{role: 'user', content: `client ${i}`}], max_tokens: 5, seed: i})))
      for (const r of results) {
        expect(r.status).to.equal(200)
        const c = (r.body.choices as Array<{text?: string; message?: {content: string}; finish_reason: string}>)[0]
        expect((c.text ?? c.message?.content ?? '').split(' ')).to.have.length(5)
        expect(c.finish_reason).to.equal('length')
      }
      expect(slow.backends[0].generations).to.equal(20)
    } finally {
      await slow.server.stop()
    }
  })

  it('frees the slot at once when a streaming client disconnects', async () => {
    const slow = await startFake([{id: 'slow', tokenMs: 20, nCtx: 100000}])
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request({host: '127.0.0.1', port: slow.port, method: 'POST', path: '/v1/completions', agent: false, headers: {'Content-Type': 'application/json'}}, (res) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        })
        req.on('error', () => {})
        req.end(JSON.stringify({prompt: 'long', max_tokens: 5000, stream: true}))
        setTimeout(() => reject(new Error('no first chunk')), 5000).unref()
      })
      const next = await json(slow.port, 'POST', '/v1/completions', {prompt: 'next', max_tokens: 2})
      expect(next.status).to.equal(200)
      // The abandoned generation stopped at the abort, far short of its 5000 tokens (100 s).
      expect(slow.backends[0].aborted).to.equal(1)
      const m = parsePrometheus((await http(slow.metricsPort, 'GET', '/metrics')).text)
      expect(sampleSum(m.samples, 'llmfrag_requests_total', {status: '499'})).to.equal(1)
      expect(sampleSum(m.samples, 'llmfrag_generated_tokens_total')).to.be.lessThan(5000 + 2)
    } finally {
      await slow.server.stop()
    }
  })

  it('refuses with 503 queue_full when the bounded queue is full', async () => {
    const slow = await startFake([{id: 'slow', tokenMs: 5}], {queueCapacity: 1})
    try {
      const body = {prompt: 'q', max_tokens: 20}
      const results = await Promise.all([0, 1, 2].map(async (i) => {
        await new Promise((r) => setTimeout(r, i * 20))
        return json(slow.port, 'POST', '/v1/completions', body)
      }))
      expect(results.map((r) => r.status)).to.deep.equal([200, 200, 503])
      expect((results[2].body.error as {code: string}).code).to.equal('queue_full')
    } finally {
      await slow.server.stop()
    }
  })

  it('gives up on a request that waits longer than the queue timeout with 503 queue_timeout', async () => {
    const slow = await startFake([{id: 'slow', tokenMs: 20}], {queueTimeoutSeconds: 0.05})
    try {
      const first = json(slow.port, 'POST', '/v1/completions', {prompt: 'long', max_tokens: 20})
      await new Promise((r) => setTimeout(r, 20))
      const second = await json(slow.port, 'POST', '/v1/completions', {prompt: 'waits', max_tokens: 1})
      expect(second.status).to.equal(503)
      expect((second.body.error as {code: string}).code).to.equal('queue_timeout')
      expect((await first).status).to.equal(200)
      expect(slow.backends[0].generations).to.equal(1)
    } finally {
      await slow.server.stop()
    }
  })

  it('refuses a body over the limit with 413 and keeps serving', async () => {
    const small = await startFake([{id: 'fake'}], {bodyLimit: 200})
    try {
      const r = await json(small.port, 'POST', '/v1/completions', {prompt: 'x'.repeat(500)})
      expect(r.status).to.equal(413)
      expect((r.body.error as {code: string}).code).to.equal('body_too_large')
      expect((await json(small.port, 'POST', '/v1/completions', {prompt: 'short', max_tokens: 1})).status).to.equal(200)
    } finally {
      await small.server.stop()
    }
  })
})
