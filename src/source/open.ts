/**
 * `openModelSource(path)`: one entry point for a .gguf file or a fragment set directory (or its
 * manifest.json), returning the ModelSource that reads it.
 */
import {existsSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {MANIFEST_FILE} from '../fragments/manifest.js'
import {readGGUFHeader} from '../gguf/reader.js'
import {Metadata} from '../gguf/metadata.js'
import {FragmentSetSource} from './fragment-source.js'
import {GGUFFileSource} from './gguf-source.js'
import type {ModelSource} from './model-source.js'

export function openModelSource(path: string): ModelSource {
  let isDir: boolean
  try {
    isDir = statSync(path).isDirectory()
  } catch (err) {
    throw ioError(err, path, 'open')
  }
  if (isDir) return new FragmentSetSource(path)
  if (basename(path) === MANIFEST_FILE) return new FragmentSetSource(dirname(path))
  if (path.endsWith('.zst')) {
    throw new LlmfragError('BAD_INPUT', `${path} is one compressed fragment, not a model`, {
      hints: [`open the fragment set's directory (${dirname(path)}) instead`],
    })
  }
  const header = readGGUFHeader(path)
  const count = new Metadata(path, header.kv).optNumber('split.count')
  if (count !== undefined && count > 1) {
    const dir = dirname(path)
    // The first shard of an uncompressed llmfrag set: open the whole set.
    if (existsSync(join(dir, MANIFEST_FILE))) return new FragmentSetSource(dir)
    throw new LlmfragError('BAD_INPUT', `${path} is one shard of a ${count}-way split model, not a whole model`, {
      hints: ['merge the shards with llama.cpp\'s llama-gguf-split --merge, or split the original with llmfrag split'],
    })
  }
  return new GGUFFileSource(path, header)
}
