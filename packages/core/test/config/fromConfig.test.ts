import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { expect, test } from 'vitest'
import { z } from 'zod'
import { Capsule } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

const greeter = (options: unknown) =>
  defineProvider({
    name: 'greet',
    version: '1.0.0',
    capabilities: [
      defineCapability({
        name: 'hello',
        level: 'sandbox',
        description: 'Greet someone.',
        input: z.object({ name: z.string() }),
        output: z.string(),
        handler: ({ name }) => `${(options as { greeting: string }).greeting}, ${name}`,
      }),
    ],
  })

test('Capsule.fromConfig builds a working Capsule from a config with providers by key', async () => {
  const capsule = await Capsule.fromConfig(
    {
      level: 'sandbox',
      sandbox: 'none',
      python: defaultPython.python,
      providers: { greet: { greeting: 'Hi' } },
    },
    { providerFactories: { greet: greeter } },
  )
  try {
    const session = await capsule.session()
    expect((await session.run('hello("Ada")')).value?.['text/plain']).toBe("'Hi, Ada'")
  } finally {
    await capsule.close()
  }
})

test('Capsule.fromConfig rejects a bad key with its name', async () => {
  await expect(Capsule.fromConfig({ levle: 'sandbox' })).rejects.toMatchObject({
    code: 'INVALID_OPTIONS',
    message: expect.stringContaining('levle'),
  })
})
