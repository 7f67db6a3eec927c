import {createHash} from 'node:crypto'

import {expect} from 'chai'

import {ChunkRing} from '../../src/fragments/chunk-ring.js'
import {StreamHasher} from '../../src/fragments/stream-hash.js'
import {fillRandom} from '../support/gguf-build.js'

describe('StreamHasher and ChunkRing', () => {
  it('hashes many interleaved streams from reused slots, on workers and locally, as node:crypto does', async () => {
    const ring = new ChunkRing(3, 1 << 16)
    const pool = new StreamHasher(ring.buffers)
    try {
      const data = new Uint8Array(1 << 20)
      fillRandom(data, 5)
      // Stream 0: everything; 1: even chunks plus 100 zero bytes after each; 2 (local): odd chunks; 3 (worker 1): everything.
      const all = pool.open(data.length)
      const even = pool.open(data.length / 2)
      const odd = pool.open(data.length / 2, 'local')
      const pinned = pool.open(data.length, 1)
      const ref = [createHash('sha256'), createHash('sha256'), createHash('sha256'), createHash('sha256')]
      for (let i = 0, at = 0; at < data.length; i++, at += ring.size) {
        const slot = await ring.acquire()
        const chunk = data.subarray(at, at + ring.size)
        slot.bytes.set(chunk)
        pool.update(all, slot.index, 0, chunk.length)
        pool.update(pinned, slot.index, 0, chunk.length)
        ref[0].update(chunk)
        ref[3].update(chunk)
        if (i % 2 === 0) {
          pool.update(even, slot.index, 0, chunk.length)
          pool.zeros(even, 100)
          ref[1].update(chunk).update(new Uint8Array(100))
        } else {
          pool.update(odd, slot.index, 0, chunk.length)
          ref[2].update(chunk)
        }
        ring.hold(slot, pool.flush())
      }
      await ring.drain()
      expect(await pool.digest([all, even, odd, pinned])).to.deep.equal(ref.map((h) => h.digest('hex')))
      expect(pool.hashSeconds).to.be.greaterThan(0)
    } finally {
      await pool.close()
    }
  })

  it('surfaces the failure of work holding a slot when the slot is next acquired', async () => {
    const ring = new ChunkRing(1, 16)
    const slot = await ring.acquire()
    ring.hold(slot, Promise.reject(new Error('write failed')))
    let err: unknown
    try {
      await ring.acquire()
    } catch (e) {
      err = e
    }
    expect((err as Error).message).to.equal('write failed')
  })

  it('rejects digests after close', async () => {
    const pool = new StreamHasher([new SharedArrayBuffer(16)], 1)
    const s = pool.open(16)
    await pool.close()
    let err: unknown
    try {
      await pool.digest([s])
    } catch (e) {
      err = e
    }
    expect((err as Error).message).to.contain('closed')
  })
})
