import {expect} from 'chai'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {hashFiles} from '../../src/fragments/hash-pool.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('fragments/hash-pool', () => {
  let dir: string
  const files: Array<{path: string; data: Buffer}> = []

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-hash-pool-'))
    // Sizes around the 8 MiB read chunk: empty, small, exactly one chunk, one chunk and a bit.
    for (const size of [0, 1000, 8 << 20, (8 << 20) + 12345]) {
      const path = join(dir, `f${size}.bin`)
      const data = randomBytes(size)
      writeFileSync(path, data)
      files.push({path, data})
    }
  })

  after(() => rmSync(dir, {recursive: true, force: true}))

  it('hashes whole files on two threads, results in job order, with progress up to the total', async () => {
    const seen: number[] = []
    const r = await hashFiles(files.map((f) => ({path: f.path, bytes: f.data.length})), {threads: 2, onProgress: (done) => seen.push(done)})
    expect(r.results.map((x) => (x.ok ? x.digests : x.error))).to.deep.equal(files.map((f) => [sha(f.data)]))
    const total = files.reduce((s, f) => s + f.data.length, 0)
    expect(r.bytes).to.equal(total)
    expect(seen.at(-1)).to.equal(total)
  })

  it('hashes byte ranges separately, and reports a missing file or a range past the end as a failed job', async () => {
    const big = files[3]
    const ranges = [{start: 0, length: 10}, {start: 5000, length: 8 << 20}, {start: big.data.length - 1, length: 1}]
    const r = await hashFiles([
      {path: big.path, bytes: ranges.reduce((s, x) => s + x.length, 0), ranges},
      {path: join(dir, 'missing.bin'), bytes: 1},
      {path: files[1].path, bytes: 10, ranges: [{start: 995, length: 10}]},
    ])
    const [a, b, c] = r.results
    expect(a.ok && a.digests).to.deep.equal(ranges.map((x) => sha(big.data.subarray(x.start, x.start + x.length))))
    expect(b.ok).to.equal(false)
    expect(!b.ok && b.error).to.match(/ENOENT/)
    expect(!c.ok && c.error).to.match(/unexpected end of file at byte 1000/)
  })
})
