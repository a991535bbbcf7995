import type { CapabilityError, ProviderDefinition } from '@capsule/provider-sdk'
import { afterEach, describe, expect, test } from 'vitest'
import { shellProvider } from '../src/index.js'
import { tempDir } from './tempDir.js'
import { callRun } from './testContext.js'

const providers: ProviderDefinition[] = []
afterEach(async () => {
  for (const provider of providers.splice(0)) await provider.dispose?.()
})

async function refusal(
  provider: ProviderDefinition,
  input: Record<string, unknown>,
): Promise<CapabilityError> {
  const error = await callRun(provider, input).then(
    () => undefined,
    (thrown: CapabilityError) => thrown,
  )
  expect(error?.code).toBe('DENIED')
  return error!
}

describe('a shell refusal names the option that would allow the call', () => {
  test('commands, envAllow, roots and allowHidden, each in message and details', async () => {
    const root = tempDir('shell-fix-root-')
    const outside = tempDir('shell-fix-outside-')
    const provider = shellProvider({
      commands: { printf: {}, ls: {} },
      roots: [{ path: root }],
      sandbox: 'none',
    })
    providers.push(provider)

    const command = await refusal(provider, { argv: ['curl', 'https://example.com'] })
    expect(command.message).toContain("add it to the shell provider's `commands` option")
    expect(command.details).toEqual({ rule: 'command', option: 'commands', value: 'curl' })

    const env = await refusal(provider, { argv: ['printf', 'x'], env: { API_KEY: 'hunter2' } })
    expect(env.message).toContain('`envAllow`')
    expect(env.message).not.toContain('hunter2')
    expect(env.details).toEqual({ rule: 'env', option: 'envAllow', value: 'API_KEY' })

    const cwd = await refusal(provider, { argv: ['ls'], cwd: outside })
    expect(cwd.message).toContain('`roots`')

    const argument = await refusal(provider, { argv: ['ls', outside] })
    expect(argument.details).toEqual({ rule: 'arguments', option: 'commands.ls' })
  })
})
