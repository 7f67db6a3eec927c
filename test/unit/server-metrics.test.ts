import {expect} from 'chai'

import {MetricsRegistry} from '../../src/monitoring/metrics.js'
import {SlidingWindow} from '../../src/monitoring/window.js'
import {GenerationQueue} from '../../src/server/queue.js'
import {parsePrometheus} from './server-helpers.js'

describe('metrics registry (Prometheus text)', () => {
  it('renders counters, gauges and histograms exactly', () => {
    const r = new MetricsRegistry()
    const c = r.counter('x_requests_total', 'Requests.')
    c.inc({endpoint: '/a', status: '200'})
    c.inc({status: '200', endpoint: '/a'}, 2)
    c.inc({endpoint: 'say "hi"\\\n', status: '400'})
    r.gauge('x_depth', 'Depth.').collect(() => [[{}, 3], [{model: 'm'}, NaN]])
    const h = r.histogram('x_seconds', 'Latency.', [0.1, 1])
    h.observe(0.05)
    h.observe(0.5)
    h.observe(7)
    expect(r.render()).to.equal([
      '# HELP x_requests_total Requests.',
      '# TYPE x_requests_total counter',
      'x_requests_total{endpoint="/a",status="200"} 3',
      'x_requests_total{endpoint="say \\"hi\\"\\\\\\n",status="400"} 1',
      '# HELP x_depth Depth.',
      '# TYPE x_depth gauge',
      'x_depth 3',
      'x_depth{model="m"} NaN',
      '# HELP x_seconds Latency.',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{le="0.1"} 1',
      'x_seconds_bucket{le="1"} 2',
      'x_seconds_bucket{le="+Inf"} 3',
      'x_seconds_sum 7.55',
      'x_seconds_count 3',
      '',
    ].join('\n'))
    const parsed = parsePrometheus(r.render())
    expect(parsed.samples.find((s) => s.labels.status === '400')?.labels.endpoint).to.equal('say "hi"\\\n')
  })

  it('refuses a decreasing counter, a bad name and a family registered twice', () => {
    const r = new MetricsRegistry()
    const c = r.counter('ok_total', 'ok')
    expect(() => c.inc({}, -1)).to.throw(/cannot decrease/)
    expect(() => r.gauge('bad-name', 'x')).to.throw(/invalid Prometheus metric name/)
    expect(() => r.counter('ok_total', 'again')).to.throw(/registered twice/)
  })
})

describe('sliding window', () => {
  it('computes rates over the window and forgets older requests', () => {
    const w = new SlidingWindow(10_000)
    w.addRequest({at: 1000, serverError: true, clientError: false, ms: 100})
    w.addRequest({at: 2000, serverError: false, clientError: true, ms: 300})
    w.addRequest({at: 3000, serverError: false, clientError: false, ms: 200})
    w.addGeneration({at: 3000, tokens: 10, ms: 250})
    const a = w.stats(5000)
    expect(a).to.include({requests: 3, serverErrors: 1, clientErrors: 1, latencyMs: 200, latencyP99Ms: 300, msPerToken: 25})
    expect(a.errorRate).to.be.closeTo(1 / 3, 1e-12)
    const b = w.stats(11_500) // the first request is older than 10 s now
    expect(b).to.include({requests: 2, serverErrors: 0, errorRate: 0, clientErrorRate: 0.5})
    const c = w.stats(20_000)
    expect(c.requests).to.equal(0)
    expect(c.errorRate).to.equal(0)
    expect(c.msPerToken).to.be.NaN
  })
})

describe('generation queue', () => {
  it('runs one at a time in FIFO order, refuses past capacity, and drops waiters whose client left', async () => {
    const q = new GenerationQueue(2)
    const order: string[] = []
    const first = await q.acquire(new AbortController().signal)
    expect(first.ok).to.equal(true)
    const leaving = new AbortController()
    const pB = q.acquire(new AbortController().signal).then((a) => { order.push('b'); return a })
    const pC = q.acquire(leaving.signal)
    expect(q.depth).to.equal(2)
    expect(await q.acquire(new AbortController().signal)).to.deep.equal({ok: false, reason: 'full'})
    leaving.abort()
    expect(await pC).to.deep.equal({ok: false, reason: 'aborted'})
    expect(q.depth).to.equal(1)
    const pD = q.acquire(new AbortController().signal).then((a) => { order.push('d'); return a })
    if (first.ok) {
      first.release()
      first.release() // a second release must not start two generations
    }
    const b = await pB
    expect(q.running).to.equal(true)
    expect(q.depth).to.equal(1)
    if (b.ok) b.release()
    const d = await pD
    if (d.ok) d.release()
    expect(order).to.deep.equal(['b', 'd'])
    expect(q.running).to.equal(false)
  })
})
