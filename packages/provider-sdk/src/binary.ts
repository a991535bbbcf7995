import { z } from 'zod'

/** JSON Schema `format` used to mark binary values, so the Python signature says `bytes`. */
export const BINARY_FORMAT = 'binary'

/**
 * A schema for raw bytes (Python `bytes` ⇄ `Uint8Array`). Use it in input and output schemas;
 * zod has no bytes type of its own.
 */
export function binary(): z.ZodCustom<Uint8Array, Uint8Array> {
  return z
    .custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'expected bytes' })
    .meta({ format: BINARY_FORMAT })
}
