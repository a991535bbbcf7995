import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { defineCapability, defineProvider, type ProviderDefinition } from '@capsule/provider-sdk'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { Capsule } from '../../src/capsule.js'
import {
  CAPSULE_CONFIG_FILES,
  capsuleConfigSchema,
  findCapsuleConfig,
  loadCapsuleConfig,
  type ProviderFactory,
  readCapsuleConfigFile,
} from '../../src/config/capsuleConfig.js'
import { isCapsuleError } from '../../src/errors.js'

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-config-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A factory like fsProvider's: records what it was given and returns a one-capability provider. */
function echoFactory(calls: Array<{ options: unknown; baseDir: string }> = []): ProviderFactory {
  return (options, context) => {
    calls.push({ options, baseDir: context.baseDir })
    if (typeof options !== 'object' || options === null || !('prefix' in options)) {
      throw new Error('echoProvider: prefix: required')
    }
    return defineProvider({
      name: 'echo',
      version: '1.0.0',
      capabilities: [
        defineCapability({
          name: 'say',
          level: 'restricted',
          description: 'Echo.',
          input: z.object({ text: z.string() }),
          output: z.string(),
          handler: ({ text }) => `${(options as { prefix: string }).prefix}${text}`,
        }),
      ],
    })
  }
}

async function writeConfig(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

async function configError(source: string | object, options = {}): Promise<Error & { code?: string }> {
  try {
    await loadCapsuleConfig(source, options)
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected the config to be refused')
}

describe('loadCapsuleConfig', () => {
  test('turns a JSON file into CapsuleOptions a Capsule accepts', async () => {
    const calls: Array<{ options: unknown; baseDir: string }> = []
    const file = await writeConfig('capsule.config.json', {
      level: 'restricted',
      allow: ['echo.say'],
      deny: ['io.input'],
      sandbox: 'none',
      limits: { callTimeoutMs: 1234, memoryMb: 256 },
      providers: { echo: { prefix: '> ' } },
    })
    const options = await loadCapsuleConfig(file, { providerFactories: { echo: echoFactory(calls) } })
    expect(options).toMatchObject({
      level: 'restricted',
      allow: ['echo.say'],
      deny: ['io.input'],
      sandbox: 'none',
      limits: { callTimeoutMs: 1234, memoryMb: 256 },
    })
    expect(calls).toEqual([{ options: { prefix: '> ' }, baseDir: dir }])
    const capsule = new Capsule(options)
    expect(capsule.capabilities().map((capability) => capability.id)).toContain('echo.say')
    await capsule.close()
  })

  test('points at the bad key when a value has the wrong type', async () => {
    const file = await writeConfig('capsule.config.json', { limits: { callTimeoutMs: 'soon' } })
    const error = await configError(file)
    expect(isCapsuleError(error, 'INVALID_OPTIONS')).toBe(true)
    expect(error.message).toBe(`${file}: limits.callTimeoutMs: expected number, got string`)
  })

  test('names an unknown key and suggests the close one', async () => {
    const error = await configError({ levle: 'standard' }, { label: 'capsule.config.json' })
    expect(error.message).toBe('capsule.config.json: levle: unknown key (did you mean "level"?)')
    const nested = await configError({ limits: { memoryMB: 1 } })
    expect(nested.message).toBe('config: limits.memoryMB: unknown key (did you mean "memoryMb"?)')
  })

  test('lists the levels when the level is not one', async () => {
    const error = await configError({ level: 'admin' })
    expect(error.message).toMatch(
      /^config: level: expected one of "sandbox", "restricted", .* \(got "admin"\)$/,
    )
  })

  test('refuses a provider key that has neither a factory nor a module', async () => {
    const error = await configError(
      { providers: { kv: { size: 1 } } },
      { providerFactories: { echo: echoFactory() } },
    )
    expect(error.message).toMatch(
      /^config: providers\.kv: no built-in provider is named "kv" \(built in: echo\)/,
    )
  })

  test('prefixes a factory failure with the provider key', async () => {
    const error = await configError(
      { providers: { echo: {} } },
      { providerFactories: { echo: echoFactory() } },
    )
    expect(error.message).toBe('config: providers.echo: echoProvider: prefix: required')
  })

  test('loads a provider factory from a module relative to the config file', async () => {
    await mkdir(path.join(dir, 'providers'))
    await writeFile(
      path.join(dir, 'providers', 'kv.mjs'),
      'export function kvProvider(options) {\n' +
        "  return { name: 'kv', version: '1.0.0', description: options.label, capabilities: [] }\n" +
        '}\n',
    )
    const file = await writeConfig('capsule.config.json', {
      providers: { kv: { module: './providers/kv.mjs', export: 'kvProvider', options: { label: 'store' } } },
    })
    const options = await loadCapsuleConfig(file)
    expect(options.providers).toHaveLength(1)
    expect(options.providers?.[0]).toMatchObject({ name: 'kv', description: 'store' })
  })

  test('refuses a module entry whose export is not a function', async () => {
    await writeFile(path.join(dir, 'kv.mjs'), 'export const kvProvider = 42\n')
    const file = await writeConfig('capsule.config.json', {
      providers: { kv: { module: './kv.mjs', export: 'kvProvider' } },
    })
    const error = await configError(file)
    expect(error.message).toBe(
      `${file}: providers.kv.export: "./kv.mjs" has no function export named "kvProvider" (got number)`,
    )
  })

  test('refuses an unknown key inside a module entry', async () => {
    const error = await configError({ providers: { kv: { module: './kv.mjs', option: {} } } })
    expect(error.message).toBe('config: providers.kv.option: unknown key (did you mean "options"?)')
  })

  test('loads an .mjs config whose default export holds ready provider definitions', async () => {
    await writeFile(
      path.join(dir, 'capsule.config.mjs'),
      "const kv = { name: 'kv', version: '1.0.0', capabilities: [] }\n" +
        "export default { level: 'trusted', providers: [kv] }\n",
    )
    const options = await loadCapsuleConfig(path.join(dir, 'capsule.config.mjs'))
    expect(options.level).toBe('trusted')
    expect(options.providers?.map((provider: ProviderDefinition) => provider.name)).toEqual(['kv'])
  })

  test('says so when a JS config has no default export', async () => {
    const file = await writeConfig('capsule.config.mjs', 'export const level = "standard"\n')
    const error = await configError(file)
    expect(error.message).toBe(`${file}: the module must \`export default\` a config object`)
  })

  test('loads a .ts config through the importModule option', async () => {
    const file = await writeConfig('capsule.config.ts', 'export default { level: "sandbox" as const }\n')
    const imported: string[] = []
    const options = await loadCapsuleConfig(file, {
      importModule: async (specifier) => {
        imported.push(specifier)
        return { default: { level: 'sandbox' } }
      },
    })
    expect(imported).toEqual([file])
    expect(options.level).toBe('sandbox')
  })

  test('reports invalid JSON in one line with the file name', async () => {
    const file = await writeConfig('capsule.config.json', '{ "level": "standard", }')
    const error = await configError(file)
    expect(error.message.startsWith(`${file}: invalid JSON: `)).toBe(true)
    expect(error.message).not.toContain('\n')
  })

  test('resolves relative paths against the config file directory', async () => {
    const file = await writeConfig('capsule.config.json', {
      cwd: 'work',
      python: './venv/bin/python',
      mounts: [{ source: 'data', write: false }],
    })
    const options = await loadCapsuleConfig(file)
    expect(options.cwd).toBe(path.join(dir, 'work'))
    expect(options.python).toBe(path.join(dir, 'venv/bin/python'))
    expect(options.mounts).toEqual([{ source: path.join(dir, 'data'), write: false }])
    const bare = await loadCapsuleConfig({ python: 'python3' })
    expect(bare.python).toBe('python3')
  })

  test('reports the deepest problem inside a providers array', async () => {
    const error = await configError({ providers: [{ name: 'kv' }] })
    expect(error.message).toMatch(/^config: providers\[0\]: expected a provider definition/)
  })
})

describe('findCapsuleConfig', () => {
  test('finds the one config file of a directory, or none', async () => {
    expect(findCapsuleConfig(dir)).toBeUndefined()
    await writeConfig('capsule.config.mjs', 'export default {}\n')
    expect(findCapsuleConfig(dir)).toBe(path.join(dir, 'capsule.config.mjs'))
  })

  test('refuses to choose between two config files', async () => {
    await writeConfig('capsule.config.json', {})
    await writeConfig('capsule.config.js', 'export default {}\n')
    expect(() => findCapsuleConfig(dir)).toThrow(/capsule\.config\.json and capsule\.config\.js both exist/)
  })

  test('looks for the documented names in order', () => {
    expect(CAPSULE_CONFIG_FILES[0]).toBe('capsule.config.json')
  })
})

describe('readCapsuleConfigFile', () => {
  test('returns the raw config with its directory, for callers that merge before loading', async () => {
    const file = await writeConfig('capsule.config.json', { level: 'standard', extra: true })
    const read = await readCapsuleConfigFile(file)
    expect(read).toEqual({ config: { level: 'standard', extra: true }, label: file, baseDir: dir })
    expect(capsuleConfigSchema.safeParse(read.config).success).toBe(false)
  })
})
