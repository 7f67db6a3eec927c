/**
 * Files of frames: several tensors (a conversation's token ids, K and V caches) back to back,
 * written to a temporary name and renamed when complete, so a reader never sees half a file.
 */
import {randomBytes} from 'node:crypto'
import {readFile, rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {ioError} from '../errors.js'
import {decodeFrames, encodeFrame, type Codec, type DecodedFrame, type FrameModel, type FrameTensor} from './frame.js'

export async function writeFramesFile(path: string, tensors: readonly FrameTensor[], model: FrameModel, codec: Codec = 'raw'): Promise<number> {
  const frames: Buffer[] = []
  for (const t of tensors) frames.push(await encodeFrame(t, model, codec))
  const tmp = join(dirname(path), `.${basename(path)}.partial-${randomBytes(4).toString('hex')}`)
  try {
    await writeFile(tmp, frames)
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, {force: true})
    throw ioError(err, path, 'write')
  }
  return frames.reduce((s, f) => s + f.length, 0)
}

/** Reads every frame of a file for `model`; any bad frame refuses the whole file. */
export async function readFramesFile(path: string, model: FrameModel): Promise<DecodedFrame[]> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw ioError(err, path, 'read')
  }
  return decodeFrames(bytes, model)
}
