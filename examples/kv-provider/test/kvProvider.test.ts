import { runProviderContract } from '@capsule/contract-tests'
import { Capsule } from '@capsule/core'
import type { ProviderDefinition } from '@capsule/provider-sdk'
import { afterEach, describe, expect, test } from 'vitest'
import { kvProvider } from '../src/index.js'

// The key whose calls the contract uses as its slow call.
const SLOW_KEY = 'slow'
const MAX_VALUE_LENGTH = 16

/**
 * The kv provider as the contract sees it. Its `latencyMs` applies to every call of an instance, so
 * calls about SLOW_KEY go to a second kvProvider over the same store with a 5 s latency; every other
 * call goes to one without latency. Both are the unmodified kvProvider.
 */
function kvUnderTest(store: Map<string, string>): ProviderDefinition {
  const fast = kvProvider({ store, maxValueLength: MAX_VALUE_LENGTH })
  const slow = kvProvider({ store, maxValueLength: MAX_VALUE_LENGTH, latencyMs: 5_000 })
  return {
    ...fast,
    capabilities: fast.capabilities.map((definition, index) => ({
      ...definition,
      handler: (args, ctx) => {
        const target = args.key === SLOW_KEY || args.prefix === SLOW_KEY ? slow : fast
        return target.capabilities[index]!.handler(args, ctx)
      },
    })),
  }
}

const store = new Map<string, string>()

runProviderContract(() => kvUnderTest(store), {
  setup: () => {
    store.clear()
    store.set('greeting', 'hello')
  },
  capabilities: {
    get: {
      valid: { key: 'greeting' },
      slow: { key: SLOW_KEY },
      check: (value) => expect(value).toBe('hello'),
    },
    set: {
      valid: { key: 'scratch', value: 'v' },
      slow: { key: SLOW_KEY, value: 'v' },
      errors: [{ args: { key: 'scratch', value: 'x'.repeat(MAX_VALUE_LENGTH + 1) }, code: 'LIMIT_EXCEEDED' }],
      check: (value) => expect(value).toBeNull(),
    },
    keys: {
      valid: { prefix: 'gr' },
      slow: { prefix: SLOW_KEY },
      check: (value) => expect(value).toEqual(['greeting']),
    },
  },
  // Nothing a refused or ungranted call does may show up in the store.
  snapshot: () => [...store.entries()].sort(),
})

describe('kv provider in a real Capsule', () => {
  const capsules: Capsule[] = []
  afterEach(async () => {
    await Promise.all(capsules.splice(0).map((capsule) => capsule.close()))
  })

  async function open(
    store: Map<string, string>,
    level: 'restricted' | 'standard' = 'standard',
    latencyMs = 0,
  ) {
    const capsule = new Capsule({ sandbox: 'none', level, providers: [kvProvider({ store, latencyMs })] })
    capsules.push(capsule)
    return capsule.session()
  }

  test('Python sets and gets keys from sync code, and the host sees the writes', async () => {
    const store = new Map<string, string>()
    const session = await open(store)
    const result = await session.run(
      'kv_set("a", "1")\nkv_set(key="b", value="2")\n(kv_get("a"), kv_get("missing"), kv_keys())',
    )
    expect(result.error).toBeNull()
    expect(result.value?.['text/plain']).toBe("('1', None, ['a', 'b'])")
    expect([...store]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ])
  })

  test('awaited calls run concurrently under asyncio.gather', async () => {
    const store = new Map(Array.from({ length: 10 }, (_, i) => [`k${i}`, `v${i}`] as [string, string]))
    const session = await open(store, 'standard', 200)
    const started = performance.now()
    const result = await session.run(
      'import asyncio\nvalues = await asyncio.gather(*(kv_get(f"k{i}") for i in range(10)))\n",".join(values)',
    )
    const elapsedMs = performance.now() - started
    expect(result.value?.['text/plain']).toBe(`'${Array.from({ length: 10 }, (_, i) => `v${i}`).join(',')}'`)
    // Ten calls of 200 ms one after another would take 2 s.
    expect(elapsedMs).toBeLessThan(1_500)
  })

  test('a value over the limit raises CapabilityError LIMIT_EXCEEDED and is not stored', async () => {
    const store = new Map<string, string>()
    const capsule = new Capsule({
      sandbox: 'none',
      level: 'standard',
      providers: [kvProvider({ store, maxValueLength: 4 })],
    })
    capsules.push(capsule)
    const session = await capsule.session()
    const result = await session.run(
      'import capsule\ntry:\n    kv_set("k", "too long")\nexcept capsule.CapabilityError as e:\n    r = (type(e).__name__, e.code)\nr',
    )
    expect(result.value?.['text/plain']).toBe("('CapabilityError', 'LIMIT_EXCEEDED')")
    expect(store.size).toBe(0)
  })

  test('at restricted the code can read but kv_set does not exist', async () => {
    const session = await open(new Map([['a', '1']]), 'restricted')
    expect((await session.run('kv_get("a")')).value?.['text/plain']).toBe("'1'")
    expect((await session.run('kv_set("a", "2")')).error?.ename).toBe('NameError')
  })
})

describe('kvProvider options', () => {
  test('are validated when the provider is built, naming the bad option', () => {
    expect(() => kvProvider({ store: new Map(), maxKeys: 0 })).toThrow(/kvProvider: options.maxKeys/)
    expect(() => kvProvider({ store: {} as Map<string, string> })).toThrow(/options.store/)
  })
})
