import { pipeline, type Readable, type Transform } from 'node:stream'
import zlib from 'node:zlib'
import { CapabilityError } from '@capsule/provider-sdk'

/** Content codings this provider decodes, and the `Accept-Encoding` it sends by default. */
export const SUPPORTED_ENCODINGS = 'gzip, deflate, br'

// Servers often end a gzip/deflate stream without a final flush; be as lenient as browsers.
const lenient = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }

function decoderFor(coding: string): Transform | null | undefined {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(lenient)
    case 'deflate':
      return zlib.createInflate(lenient)
    case 'br':
      return zlib.createBrotliDecompress()
    case 'identity':
    case '':
      return null
    default:
      return undefined
  }
}

/**
 * Builds the decoders for a `Content-Encoding` value, outermost coding last in the header and so
 * first to undo. Returns null when any coding is unknown: the body is then returned as received.
 */
export function decodersFor(contentEncoding: string | undefined): Transform[] | null {
  if (contentEncoding === undefined) return []
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .reverse()
  // A chain longer than this is an attack, not an encoding.
  if (codings.length > 3) return null
  const decoders: Transform[] = []
  for (const coding of codings) {
    const decoder = decoderFor(coding)
    if (decoder === undefined) {
      for (const d of decoders) d.destroy()
      return null
    }
    if (decoder) decoders.push(decoder)
  }
  return decoders
}

/**
 * Reads a response body into memory, decoding its content codings and counting DECODED bytes:
 * past `maxBytes` the body and the decoders are destroyed and the call fails with LIMIT_EXCEEDED.
 * zlib streams honour back-pressure, so a decompression bomb is inflated at most one chunk past
 * the cap. The caller's signal aborts the undici body, which surfaces here as an error.
 */
export async function readResponseBody(
  body: Readable,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Uint8Array> {
  // Errors surface through collect() below; this listener only keeps a late error from a
  // destroyed body from becoming an uncaught exception.
  body.on('error', noop)
  const decoders = decodersFor(contentEncoding) ?? []
  for (const decoder of decoders) decoder.on('error', noop)
  const source: Readable =
    decoders.length === 0
      ? body
      : (pipeline([body, ...decoders], () => {
          // Errors surface through the last stream, which collect() listens on; nothing to do here.
        }) as unknown as Readable)
  try {
    return await collect(source, maxBytes)
  } catch (error) {
    if (error instanceof CapabilityError) throw error
    if (decoders.length > 0 && isZlibError(error)) {
      throw new CapabilityError('UNAVAILABLE', 'response body could not be decoded', { cause: error })
    }
    throw error
  } finally {
    // Only an unfinished body is destroyed: destroying a finished one would also drop its kept-alive connection.
    if (!body.readableEnded) body.destroy()
    for (const decoder of decoders) if (!decoder.readableEnded) decoder.destroy()
  }
}

/**
 * Gathers a stream's chunks, failing once they pass `maxBytes`. Listeners, not `for await`: the async
 * iterator costs more than the rest of reading a small body, and this runs for every response.
 */
function collect(source: Readable, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    const done = (error?: unknown): void => {
      source.off('data', onData)
      source.off('end', onEnd)
      source.off('error', done)
      source.off('close', onClose)
      if (error !== undefined) {
        reject(error)
        return
      }
      const out = Buffer.concat(chunks, total)
      resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength))
    }
    const onData = (chunk: Buffer): void => {
      total += chunk.length
      if (total <= maxBytes) {
        chunks.push(chunk)
        return
      }
      // Stop the flow (and any decoder inflating behind it) now; the caller destroys what is left.
      source.pause()
      done(
        new CapabilityError('LIMIT_EXCEEDED', `response body is larger than ${maxBytes} bytes`, {
          details: { maxResponseBytes: maxBytes },
        }),
      )
    }
    const onEnd = (): void => done()
    // Destroyed before its end without an error of its own (an abort that came as a close).
    const onClose = (): void =>
      done(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))
    source.on('data', onData)
    source.once('end', onEnd)
    source.once('error', done)
    source.once('close', onClose)
  })
}

function noop(): void {}

/** Throws a body away without reading it, and without an uncaught error from the destroyed stream. */
export function discardBody(body: Readable): void {
  body.on('error', noop)
  body.destroy()
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return (
    typeof code === 'string' &&
    (code.startsWith('Z_') || code.startsWith('ERR_BROTLI') || code === 'ERR__ERROR')
  )
}
