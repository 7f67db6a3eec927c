/**
 * A conversation's prompt tokens with the assistant replies kept as the tokens the model
 * generated, not re-tokenized from their text. Re-tokenizing a reply seldom gives the same ids
 * (`ghi` generated without its SentencePiece space becomes `▁ghi` when rendered as ` ghi`), and
 * the first differing id ends the KV cache prefix the engine can reuse: the whole reply and the
 * new message would be evaluated again every turn. llama-cli keeps generated tokens the same way.
 *
 * Both Mistral formats put each assistant reply in the one text part that follows a `[/INST]`
 * token (src/chat/format.ts); replies without recorded ids stay text.
 */
import {LlmfragError} from '../errors.js'
import type {Segment, Tokenizer} from '../tokenizer/index.js'
import {type ChatFormatName, type ChatMessage, renderChatParts} from './format.js'

const REPLY_FOLLOWS = '[/INST]'

/**
 * Token ids of `messages` rendered in `format`; `replyIds[k]` (when given) stands for the text of
 * the k-th assistant message.
 */
export function encodeTurns(tok: Tokenizer, format: ChatFormatName, messages: readonly ChatMessage[], replyIds: ReadonlyArray<readonly number[] | undefined>): number[] {
  const parts = renderChatParts(format, messages)
  const segments: Segment[] = []
  let reply = 0
  parts.forEach((p, i) => {
    if ('special' in p) {
      const id = tok.tokenId(p.special)
      if (id === undefined) {
        throw new LlmfragError('UNSUPPORTED', `chat format ${format} needs the token ${p.special}, which the model's vocabulary lacks`, {
          hints: ['the model was not made for this chat format'], details: {format, token: p.special},
        })
      }
      segments.push({id})
      return
    }
    const prev = parts[i - 1]
    if (prev !== undefined && 'special' in prev && prev.special === REPLY_FOLLOWS) {
      const ids = replyIds[reply++]
      if (ids !== undefined) {
        for (const id of ids) segments.push({id})
        return
      }
    }
    segments.push(p.text)
  })
  return tok.encodeSegments(segments, {addSpecial: false})
}

/**
 * Whether `ids` are a plausible recording of `content` for this tokenizer (a saved chat's ids
 * are used only if they still decode to its text; spaces at the ends are the format's business).
 */
export function idsMatchText(tok: Tokenizer, ids: readonly number[], content: string): boolean {
  if (!ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)) return false
  const want = content.trim()
  return tok.decode(ids).trim() === want || tok.decode(ids, {unparseSpecial: true}).trim() === want
}
