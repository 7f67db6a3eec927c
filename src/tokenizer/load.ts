/**
 * The tokenizer of a model on disk (a .gguf file or a fragment set, whose first fragment holds the
 * metadata), read from the header alone: no tensor data is touched.
 */
import {Metadata} from '../gguf/metadata.js'
import {openModelSource} from '../source/open.js'
import {createTokenizer, type EncodeOptions, type Tokenizer} from './index.js'

export function loadTokenizer(path: string): Tokenizer {
  const source = openModelSource(path)
  return createTokenizer(new Metadata(path, source.kv))
}

/** What `llmfrag tokenize` prints: ids, and each token's piece as text (invalid UTF-8 as U+FFFD). */
export interface TokenizeResult {
  readonly ids: number[]
  readonly pieces: string[]
}

/** Ids and pieces of `text` as llama.cpp's llama-tokenize shows them (pieces with special = true). */
export function tokenizeWithPieces(tok: Tokenizer, text: string, options: EncodeOptions): TokenizeResult {
  const ids = tok.encode(text, options)
  const decoder = new TextDecoder('utf-8', {ignoreBOM: true})
  return {ids, pieces: ids.map((id) => decoder.decode(tok.tokenToPiece(id)))}
}
