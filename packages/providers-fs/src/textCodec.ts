import { CapabilityError } from '@capsule/provider-sdk'

/** The text encodings `read_file` accepts, by their canonical Python-style names. */
export const TEXT_ENCODINGS = ['utf-8', 'ascii', 'latin-1', 'utf-16-le'] as const

type TextEncodingName = (typeof TEXT_ENCODINGS)[number]

const ALIASES: Record<string, TextEncodingName> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  ascii: 'ascii',
  'us-ascii': 'ascii',
  'latin-1': 'latin-1',
  latin1: 'latin-1',
  'iso-8859-1': 'latin-1',
  'utf-16-le': 'utf-16-le',
  'utf-16le': 'utf-16-le',
}

/** Decodes bytes strictly, like Python's `errors='strict'`: throws when the bytes are not valid in the encoding. */
export type TextDecodeFn = (bytes: Uint8Array) => string

/**
 * The strict decoder for a Python encoding name (case and `_`/`-` insensitive), or INVALID_ARGUMENT for an
 * encoding Capsule does not support. A byte order mark is kept, as Python's `utf-8` keeps it.
 */
export function decoderFor(encoding: string): TextDecodeFn {
  const name = ALIASES[encoding.trim().toLowerCase().replaceAll('_', '-')]
  if (name === undefined) {
    throw new CapabilityError(
      'INVALID_ARGUMENT',
      `unsupported encoding ${JSON.stringify(encoding.slice(0, 40))}; use one of ${TEXT_ENCODINGS.join(', ')}, or None for bytes`,
    )
  }
  switch (name) {
    case 'utf-8':
      return fatalDecoder('utf-8')
    case 'utf-16-le':
      return fatalDecoder('utf-16le')
    case 'latin-1':
      return (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
    case 'ascii':
      return (bytes) => {
        if (bytes.some((byte) => byte > 0x7f)) throw new RangeError('not valid ascii')
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
      }
  }
}

function fatalDecoder(label: string): TextDecodeFn {
  const decoder = new TextDecoder(label, { fatal: true, ignoreBOM: true })
  return (bytes) => decoder.decode(bytes)
}
