/**
 * GPT-2's byte-to-unicode map (openai/gpt-2 encoder.py `bytes_to_unicode`), which byte-level BPE
 * vocabularies are written in: printable Latin-1 bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for
 * themselves, the other 68 bytes map in order to U+0100.. (so space is `Ġ`, newline `Ċ`).
 * Every byte's character is one UTF-16 unit, so a byte-encoded string has one unit per byte.
 */
function buildByteChars(): string[] {
  const chars: string[] = new Array<string>(256)
  let extra = 0
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
    chars[b] = String.fromCharCode(printable ? b : 256 + extra++)
  }
  return chars
}

/** Byte value → its character. */
export const BYTE_CHARS: readonly string[] = buildByteChars()

/** Character code → byte value (-1 for characters outside the map). */
export const CHAR_BYTES: Int16Array = (() => {
  const table = new Int16Array(512).fill(-1)
  BYTE_CHARS.forEach((c, b) => { table[c.charCodeAt(0)] = b })
  return table
})()

const encoder = new TextEncoder()

/** The byte-level form of `text`: its UTF-8 bytes, each written as its map character. */
export function byteEncode(text: string): string {
  const bytes = encoder.encode(text)
  let out = ''
  for (const b of bytes) out += BYTE_CHARS[b]
  return out
}
