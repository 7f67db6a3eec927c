/**
 * Chat prompt formats of the Mistral family, chosen from the vocab:
 * - `mistral-v7-tekken` (Magistral, Mistral Small 3.x; the vocab has `[SYSTEM_PROMPT]`):
 *   `<s>[SYSTEM_PROMPT]{system}[/SYSTEM_PROMPT][INST]{user}[/INST]{assistant}</s>[INST]...`
 * - `mistral-v3` (Mistral 7B v0.3; the vocab has `[INST]` only):
 *   `<s>[INST] {user}[/INST] {assistant}</s>[INST] {system}\n\n{user}[/INST]`, the system prompt
 *   going before the last user message and assistant replies trimmed, as Mistral's template does.
 * A prompt is rendered as parts (text, or a special token named by its text) so it can be shown as
 * text and tokenized without searching user content for special tokens: content that contains
 * `[INST]` stays text. The ids equal llama.cpp tokenizing the rendered text with parse_special.
 */
import {LlmfragError} from '../errors.js'
import type {Tokenizer} from '../tokenizer/index.js'

export type ChatFormatName = 'mistral-v3' | 'mistral-v7-tekken'
export type ChatRole = 'system' | 'user' | 'assistant'

export interface ChatMessage {
  readonly role: ChatRole
  readonly content: string
}

export interface RenderOptions {
  /**
   * The last message is an assistant reply to continue: leave it open (no `</s>`), so generation
   * picks up where it ends. Otherwise the prompt ends ready for the next assistant reply.
   */
  readonly continueFinal?: boolean
}

/** One piece of a rendered prompt: plain text, or a special token given by its text. */
export type PromptPart = {readonly text: string} | {readonly special: string}

const BOS = '<s>'
const EOS = '</s>'

/** The format the vocab was made for, or undefined when it has neither marker token. */
export function detectChatFormat(tok: Pick<Tokenizer, 'tokenId'>): ChatFormatName | undefined {
  if (tok.tokenId('[SYSTEM_PROMPT]') !== undefined) return 'mistral-v7-tekken'
  if (tok.tokenId('[INST]') !== undefined) return 'mistral-v3'
  return undefined
}

/** Like detectChatFormat, but a vocab with no known format is an error. */
export function requireChatFormat(tok: Pick<Tokenizer, 'tokenId'>): ChatFormatName {
  const format = detectChatFormat(tok)
  if (format === undefined) {
    throw new LlmfragError('UNSUPPORTED', 'the model\'s vocabulary has neither [SYSTEM_PROMPT] nor [INST]: no known chat format', {
      hints: ['chat supports the Mistral formats mistral-v3 and mistral-v7-tekken; use run with a plain prompt instead'],
    })
  }
  return format
}

export function renderChatParts(format: ChatFormatName, messages: readonly ChatMessage[], options: RenderOptions = {}): PromptPart[] {
  const openLast = (options.continueFinal ?? false) && messages.at(-1)?.role === 'assistant'
  return format === 'mistral-v3' ? renderV3(messages, openLast) : renderV7Tekken(messages, openLast)
}

/** The prompt as text, special tokens written as their texts (for display and logs). */
export function renderChat(format: ChatFormatName, messages: readonly ChatMessage[], options: RenderOptions = {}): string {
  return renderChatParts(format, messages, options).map((p) => ('text' in p ? p.text : p.special)).join('')
}

/** The prompt's token ids (BOS included by the format); special tokens are looked up by text. */
export function encodeChat(tok: Tokenizer, format: ChatFormatName, messages: readonly ChatMessage[], options: RenderOptions = {}): number[] {
  const segments = renderChatParts(format, messages, options).map((p) => {
    if ('text' in p) return p.text
    const id = tok.tokenId(p.special)
    if (id === undefined) {
      throw new LlmfragError('UNSUPPORTED', `chat format ${format} needs the token ${p.special}, which the model's vocabulary lacks`, {
        hints: ['the model was not made for this chat format'],
        details: {format, token: p.special},
      })
    }
    return {id}
  })
  return tok.encodeSegments(segments, {addSpecial: false})
}

function renderV3(messages: readonly ChatMessage[], openLast: boolean): PromptPart[] {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n')
  const turns = messages.filter((m) => m.role !== 'system')
  let lastUser = -1
  turns.forEach((m, i) => { if (m.role === 'user') lastUser = i })
  const parts: PromptPart[] = [{special: BOS}]
  if (lastUser < 0 && system !== '') parts.push({special: '[INST]'}, {text: ` ${system}`}, {special: '[/INST]'})
  turns.forEach((m, i) => {
    if (m.role === 'user') {
      const content = i === lastUser && system !== '' ? `${system}\n\n${m.content}` : m.content
      parts.push({special: '[INST]'}, {text: ` ${content}`}, {special: '[/INST]'})
    } else {
      parts.push({text: ` ${m.content.trim()}`})
      if (!(openLast && i === turns.length - 1)) parts.push({special: EOS})
    }
  })
  return parts
}

function renderV7Tekken(messages: readonly ChatMessage[], openLast: boolean): PromptPart[] {
  const parts: PromptPart[] = [{special: BOS}]
  messages.forEach((m, i) => {
    if (m.role === 'system') {
      parts.push({special: '[SYSTEM_PROMPT]'}, {text: m.content}, {special: '[/SYSTEM_PROMPT]'})
    } else if (m.role === 'user') {
      parts.push({special: '[INST]'}, {text: m.content}, {special: '[/INST]'})
    } else {
      parts.push({text: m.content})
      if (!(openLast && i === messages.length - 1)) parts.push({special: EOS})
    }
  })
  return parts
}
