// An example third-party provider. It depends on @capsule/provider-sdk (and zod) only, as a provider
// published by someone else would: `kv_get`, `kv_set`, `kv_keys` over a host-owned Map.
import {
  CapabilityError,
  defineCapability,
  defineProvider,
  type ProviderDefinition,
  parseProviderOptions,
} from '@capsule/provider-sdk'
import { z } from 'zod'

/** Options of {@link kvProvider}. */
export interface KvProviderOptions {
  /** The store Python reads and writes; the host keeps it. */
  store: Map<string, string>
  /** Largest value accepted by `kv_set`, in characters (default 64 KiB). */
  maxValueLength?: number
  /** Most keys the store may hold (default 10,000). */
  maxKeys?: number
  /** Simulated backend latency per call in ms (default 0), as a remote store would have. */
  latencyMs?: number
}

/** Waits `ms`, or rejects with CANCELLED as soon as `signal` aborts. */
function latency(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(new CapabilityError('CANCELLED', 'the call was cancelled'))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}

const key = z.string().min(1).max(256).describe('the key')

/** The options, validated when the provider is built (a bad value fails there, not at the first call). */
export const kvProviderOptionsSchema = z
  .object({
    store: z.instanceof(Map),
    maxValueLength: z
      .number()
      .int()
      .min(1)
      .default(64 * 1024),
    maxKeys: z.number().int().min(1).default(10_000),
    latencyMs: z.number().int().min(0).max(60_000).default(0),
  })
  .strict()

/** A key-value provider: reads at `restricted`, writes at `standard`. */
export function kvProvider(options: KvProviderOptions): ProviderDefinition {
  const parsed = parseProviderOptions('kvProvider', kvProviderOptionsSchema, options, {
    expected: 'must be an object with { store: new Map() }',
  })
  const { maxValueLength, maxKeys, latencyMs } = parsed
  const store = parsed.store as Map<string, string>
  return defineProvider({
    name: 'kv',
    version: '1.0.0',
    description: 'A host-owned key-value store.',
    configSchema: kvProviderOptionsSchema,
    capabilities: [
      defineCapability({
        name: 'get',
        python: 'kv_get',
        level: 'restricted',
        description: 'Read one key; None when it is absent.',
        input: z.object({ key }),
        output: z.string().nullable(),
        annotations: { readOnly: true },
        handler: async ({ key }, ctx) => {
          await latency(latencyMs, ctx.signal)
          return store.get(key) ?? null
        },
      }),
      defineCapability({
        name: 'set',
        python: 'kv_set',
        level: 'standard',
        description: 'Write one key.',
        input: z.object({ key, value: z.string().describe('the value') }),
        output: z.null(),
        annotations: { idempotent: true },
        handler: async ({ key, value }, ctx) => {
          await latency(latencyMs, ctx.signal)
          if (value.length > maxValueLength) {
            throw new CapabilityError('LIMIT_EXCEEDED', `values are limited to ${maxValueLength} characters`)
          }
          if (!store.has(key) && store.size >= maxKeys)
            throw new CapabilityError('LIMIT_EXCEEDED', `the store is full (${maxKeys} keys)`)
          store.set(key, value)
          return null
        },
      }),
      defineCapability({
        name: 'keys',
        python: 'kv_keys',
        level: 'restricted',
        description: 'List the keys that start with a prefix.',
        input: z.object({ prefix: z.string().max(256).default('').describe('only keys starting with this') }),
        output: z.array(z.string()),
        annotations: { readOnly: true },
        handler: async ({ prefix }, ctx) => {
          await latency(latencyMs, ctx.signal)
          return [...store.keys()].filter((k) => k.startsWith(prefix)).sort()
        },
      }),
    ],
  })
}
