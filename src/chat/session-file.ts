/**
 * Saved chat sessions (`/save FILE`, `/load FILE`):
 * - FILE is JSON: the conversation, portable between models
 *   `{format: "llmfrag-chat", version: 1, created, model: {architecture, fingerprint, chat_format},
 *     messages: [{role: "system"|"user"|"assistant", content, thinking?, tokens?}], kv?: {file, tokens}}`
 *   (an assistant message's `tokens` are its ids as generated, reused by the same model only);
 * - `FILE.kv` (when the cache is not empty) is a file of tensor frames (src/frames) holding the
 *   KV cache so a loaded chat does not evaluate its history again: `tokens` (I32 [n]), then per
 *   layer l `kv.k.l` (F32 [kvDim, n]) and `kv.v.l` (F32 [kvDimV, n]). The frames carry the
 *   model's architecture and fingerprint, so a cache from another model is refused, not misused.
 * Both are written to a temporary name and renamed; the cache first, so the JSON never names a
 * cache that is not complete.
 */
import {randomBytes} from 'node:crypto'
import {readFile, rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import type {CacheContents} from '../engine/index.js'
import {ioError, LlmfragError} from '../errors.js'
import {readFramesFile, writeFramesFile} from '../frames/file.js'
import type {FrameModel, FrameTensor} from '../frames/frame.js'
import {fingerprintHex} from '../frames/fingerprint.js'
import {GGMLType} from '../gguf/ggml-types.js'
import type {ChatFormatName, ChatRole} from './format.js'

export const CHAT_FILE_FORMAT = 'llmfrag-chat'
export const CHAT_FILE_VERSION = 1

export interface SavedMessage {
  readonly role: ChatRole
  readonly content: string
  /** A reasoning model's thoughts before this reply (kept for the record, not sent back). */
  readonly thinking?: string
  /** The reply's token ids as generated (used again only by the model of `model.fingerprint`). */
  readonly tokens?: readonly number[]
}

export interface SavedChat {
  readonly format: typeof CHAT_FILE_FORMAT
  readonly version: typeof CHAT_FILE_VERSION
  readonly created: string
  readonly model: {readonly architecture: string; readonly fingerprint: string; readonly chat_format: ChatFormatName}
  readonly messages: readonly SavedMessage[]
  /** The KV cache beside it: a plain file name in the same directory, and its token count. */
  readonly kv?: {readonly file: string; readonly tokens: number}
}

export interface SaveResult {
  readonly bytes: number
  /** Bytes of FILE.kv, 0 when no cache was written. */
  readonly kvBytes: number
  readonly kvTokens: number
}

/** Writes FILE (and FILE.kv when `cache` holds tokens). */
export async function writeChatFile(path: string, chat: Omit<SavedChat, 'kv'>, cache?: {contents: CacheContents; model: FrameModel}): Promise<SaveResult> {
  let kvBytes = 0
  let kv: SavedChat['kv']
  const n = cache?.contents.tokens.length ?? 0
  if (cache && n > 0) {
    const kvPath = `${path}.kv`
    kvBytes = await writeFramesFile(kvPath, cacheFrames(cache.contents), cache.model)
    kv = {file: basename(kvPath), tokens: n}
  }
  const text = chatJson({...chat, ...(kv ? {kv} : {})})
  const tmp = join(dirname(path), `.${basename(path)}.partial-${randomBytes(4).toString('hex')}`)
  try {
    await writeFile(tmp, text)
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, {force: true})
    throw ioError(err, path, 'write')
  }
  return {bytes: Buffer.byteLength(text), kvBytes, kvTokens: kv?.tokens ?? 0}
}

/** Indented JSON with one message per line (token id arrays would otherwise take a line per id). */
function chatJson(chat: SavedChat): string {
  const {messages, ...head} = chat
  const lines = JSON.stringify(head, null, 2).split('\n')
  const body = messages.map((m) => `    ${JSON.stringify(m)}`).join(',\n')
  lines.splice(lines.length - 1, 0, `  "messages": [${messages.length === 0 ? ']' : `\n${body}\n  ]`}`)
  // The line before the inserted one needs its comma.
  lines[lines.length - 3] += ','
  return lines.join('\n') + '\n'
}

/** Reads and checks FILE's JSON; errors name the file and the field. */
export async function readChatFile(path: string): Promise<SavedChat> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw ioError(err, path, 'read')
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw bad(path, '', `not valid JSON: ${(err as Error).message}`)
  }
  return checkChat(path, doc)
}

/** The path of the cache a saved chat names (beside the chat file), or undefined. */
export function kvPathOf(path: string, chat: SavedChat): string | undefined {
  return chat.kv === undefined ? undefined : join(dirname(path), chat.kv.file)
}

/** Reads a saved cache for `model` (ARCH_MISMATCH when it was made by another model). */
export async function readKvFile(path: string, model: FrameModel): Promise<CacheContents> {
  const frames = await readFramesFile(path, model)
  const layers = (frames.length - 1) / 2
  const [first] = frames
  if (first === undefined || first.name !== 'tokens' || first.dtype !== GGMLType.I32 || first.dims.length !== 1 || !Number.isInteger(layers)) {
    throw new LlmfragError('BAD_INPUT', `${path}: expected a tokens frame (I32) then K and V frames per layer, got ${frames.map((f) => f.name || '(unnamed)').join(', ') || 'no frames'}`, {
      hints: ['the file was not written by /save'],
    })
  }
  const n = first.dims[0]
  const tokens = Array.from(int32View(first.data))
  const keys: Float32Array[] = []
  const values: Float32Array[] = []
  for (let l = 0; l < layers; l++) {
    for (const [kind, out] of [['k', keys], ['v', values]] as const) {
      const f = frames[1 + 2 * l + (kind === 'k' ? 0 : 1)]
      const name = `kv.${kind}.${l}`
      if (f.name !== name || f.dtype !== GGMLType.F32 || f.dims.length !== 2 || f.dims[1] !== n) {
        throw new LlmfragError('BAD_INPUT', `${path}: frame ${1 + 2 * l + (kind === 'k' ? 0 : 1)}: expected ${name} F32 [width, ${n}], got ${f.name || '(unnamed)'} type ${f.dtype} [${f.dims.join(', ')}]`, {
          hints: ['the file was not written by /save, or it was damaged'],
        })
      }
      out.push(float32View(f.data))
    }
  }
  return {tokens, keys, values}
}

export function savedModel(architecture: string, fingerprint: Uint8Array, chatFormat: ChatFormatName): SavedChat['model'] {
  return {architecture, fingerprint: fingerprintHex(fingerprint), chat_format: chatFormat}
}

/** The cache as frames; float and int views are written in the machine's byte order (little-endian on every platform Node supports here). */
function cacheFrames(c: CacheContents): FrameTensor[] {
  const n = c.tokens.length
  const bytes = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const frames: FrameTensor[] = [{name: 'tokens', dtype: GGMLType.I32, dims: [n], data: bytes(Int32Array.from(c.tokens))}]
  c.keys.forEach((k, l) => {
    const v = c.values[l]
    frames.push({name: `kv.k.${l}`, dtype: GGMLType.F32, dims: [k.length / n, n], data: bytes(k)})
    frames.push({name: `kv.v.${l}`, dtype: GGMLType.F32, dims: [v.length / n, n], data: bytes(v)})
  })
  return frames
}

function float32View(b: Uint8Array): Float32Array {
  const aligned = b.byteOffset % 4 === 0 ? b : b.slice()
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4)
}

function int32View(b: Uint8Array): Int32Array {
  const aligned = b.byteOffset % 4 === 0 ? b : b.slice()
  return new Int32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4)
}

function bad(path: string, field: string, what: string): LlmfragError {
  return new LlmfragError('BAD_INPUT', `${path}: ${field === '' ? '' : `${field}: `}${what}`, {
    hints: ['a chat file is written by /save in llmfrag chat'], details: {file: path, field},
  })
}

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant']

function checkChat(path: string, doc: unknown): SavedChat {
  if (!isObject(doc)) throw bad(path, '', `expected a JSON object, got ${kindOf(doc)}`)
  if (doc.format !== CHAT_FILE_FORMAT) throw bad(path, 'format', `expected "${CHAT_FILE_FORMAT}", got ${JSON.stringify(doc.format)}`)
  if (doc.version !== CHAT_FILE_VERSION) {
    throw new LlmfragError('UNSUPPORTED', `${path}: version: this build reads version ${CHAT_FILE_VERSION}, got ${JSON.stringify(doc.version)}`, {hints: ['the file was saved by a newer llmfrag']})
  }
  if (!Array.isArray(doc.messages)) throw bad(path, 'messages', `expected an array, got ${kindOf(doc.messages)}`)
  const messages = doc.messages.map((m: unknown, i: number): SavedMessage => {
    const at = `messages[${i}]`
    if (!isObject(m)) throw bad(path, at, `expected an object, got ${kindOf(m)}`)
    if (typeof m.role !== 'string' || !ROLES.includes(m.role as ChatRole)) throw bad(path, `${at}.role`, `expected one of ${ROLES.join(', ')}, got ${JSON.stringify(m.role)}`)
    if (typeof m.content !== 'string') throw bad(path, `${at}.content`, `expected a string, got ${kindOf(m.content)}`)
    if (m.thinking !== undefined && typeof m.thinking !== 'string') throw bad(path, `${at}.thinking`, `expected a string, got ${kindOf(m.thinking)}`)
    if (m.tokens !== undefined && !(Array.isArray(m.tokens) && m.tokens.every((t) => Number.isSafeInteger(t)))) throw bad(path, `${at}.tokens`, 'expected an array of token ids')
    return {
      role: m.role as ChatRole, content: m.content,
      ...(typeof m.thinking === 'string' ? {thinking: m.thinking} : {}),
      ...(Array.isArray(m.tokens) ? {tokens: m.tokens as number[]} : {}),
    }
  })
  const model = isObject(doc.model) ? doc.model : {}
  let kv: SavedChat['kv']
  if (doc.kv !== undefined) {
    const k = doc.kv
    if (!isObject(k) || typeof k.file !== 'string' || typeof k.tokens !== 'number') throw bad(path, 'kv', 'expected {file, tokens}')
    // A plain name beside the chat file: a saved chat never points elsewhere on the disk.
    if (k.file === '' || k.file !== basename(k.file) || k.file === '..' || k.file === '.') throw bad(path, 'kv.file', `expected a plain file name, got ${JSON.stringify(k.file)}`)
    kv = {file: k.file, tokens: k.tokens}
  }
  return {
    format: CHAT_FILE_FORMAT, version: CHAT_FILE_VERSION,
    created: typeof doc.created === 'string' ? doc.created : '',
    model: {
      architecture: typeof model.architecture === 'string' ? model.architecture : '',
      fingerprint: typeof model.fingerprint === 'string' ? model.fingerprint : '',
      chat_format: model.chat_format === 'mistral-v3' ? 'mistral-v3' : 'mistral-v7-tekken',
    },
    messages,
    ...(kv ? {kv} : {}),
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
}
