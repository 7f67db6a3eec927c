import {createHash} from 'node:crypto'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {ChunkRing, readFully, WRITE_PIECE, writeFully} from '../../src/fragments/chunk-ring.js'
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

  it('sends a digest behind the queued updates without waiting for them, while other streams go on', async () => {
    const ring = new ChunkRing(2, 1 << 16)
    const pool = new StreamHasher(ring.buffers, 1)
    try {
      const data = new Uint8Array(3 << 16)
      fillRandom(data, 9)
      const first = pool.open(data.length)
      const second = pool.open(data.length)
      const slot = await ring.acquire()
      slot.bytes.set(data.subarray(0, 1 << 16))
      pool.update(first, slot.index, 0, 1 << 16) // queued, not flushed: digest() must send it first
      const firstDigest = pool.digest([first])
      pool.update(second, slot.index, 0, 1 << 16)
      ring.hold(slot, pool.flush())
      await ring.drain()
      expect(await firstDigest).to.deep.equal([createHash('sha256').update(data.subarray(0, 1 << 16)).digest('hex')])
      expect(await pool.digest([second])).to.deep.equal([createHash('sha256').update(data.subarray(0, 1 << 16)).digest('hex')])
    } finally {
      await pool.close()
    }
  })

  it('writeFully: buffers of several WRITE_PIECEs at any position read back the same; a failure names the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-write-'))
    const path = join(dir, 'out.bin')
    try {
      const data = new Uint8Array(3 * WRITE_PIECE + 12345)
      fillRandom(data, 4)
      const fd = openSync(path, 'w+')
      try {
        writeFully(fd, path, data, 777)
        const back = new Uint8Array(data.length)
        expect(readFully(fd, path, back, data.length, 777)).to.equal(data.length)
        expect(Buffer.from(back).equals(Buffer.from(data))).to.equal(true)
      } finally {
        closeSync(fd)
      }
      const file = readFileSync(path)
      expect(file.length).to.equal(777 + data.length)
      expect(file.subarray(0, 777).every((b) => b === 0)).to.equal(true)
      const ro = openSync(path, 'r')
      let err: unknown
      try {
        writeFully(ro, path, data, 0)
      } catch (e) {
        err = e
      } finally {
        closeSync(ro)
      }
      expect((err as Error).message).to.contain(path)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
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
