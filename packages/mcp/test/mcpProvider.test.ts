import { Capsule, type ExecutionEvent } from '@capsule/core'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { type McpProviderDefinition, mcpProvider } from '../src/index.js'
import { TEST_PYTHON, toolServerCommand } from './helpers.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// mcpProvider against a real MCP server written with the SDK, spawned over stdio, called from real Python.

let provider: McpProviderDefinition
let capsule: Capsule

beforeAll(async () => {
  provider = await mcpProvider({ name: 'tools', ...toolServerCommand(), stderr: 'ignore' })
  capsule = new Capsule({
    level: 'trusted',
    sandbox: 'none',
    python: TEST_PYTHON,
    providers: [provider],
    limits: { callTimeoutMs: 15_000 },
  })
})

afterAll(async () => {
  await capsule?.close()
})

function capability(id: string) {
  const found = capsule.capabilities().find((entry) => entry.id === id)
  if (!found) throw new Error(`no capability ${id}: ${capsule.capabilities().map((entry) => entry.id)}`)
  return found
}

async function run(code: string): Promise<string> {
  const session = await capsule.session()
  try {
    const result = await session.run(code)
    if (result.status !== 'ok')
      throw new Error(`${result.status}: ${JSON.stringify(result.error)}\n${result.stderr}`)
    return String(result.value?.['text/plain'])
  } finally {
    await session.close()
  }
}

describe('mcpProvider over stdio', () => {
  test('turns each tool into a capability with a snake-case Python name, a signature and a docstring', async () => {
    expect(provider.server).toEqual({ name: 'capsule-test-tools', version: '1.2.3' })
    expect(provider.version).toBe('1.2.3')
    expect(provider.skipped).toEqual([])
    const add = capability('tools.add')
    expect(add.python).toBe('tools_add')
    expect(add.signature).toBe('tools_add(a, b=…) -> Any')
    expect(add.description).toBe('Add two numbers.')
    const weather = capability('tools.get_weather')
    expect(weather.python).toBe('tools_get_weather')
    // Argument names that are not Python identifiers are rewritten.
    expect(weather.signature).toBe('tools_get_weather(city_name, class_=…) -> Any')
    expect(
      await run(
        'import inspect\n(str(inspect.signature(tools_add)), str(inspect.signature(tools_get_weather)))',
      ),
    ).toBe(
      "('(a: float, b: float = 0) -> Any', \"(city_name: str, class_: Literal['basic', 'full'] = None) -> Any\")",
    )
  })

  test('levels come from the annotations pessimistically: closed-world read-only tools keep the host level, unannotated ones need trusted', () => {
    expect(capability('tools.add').level).toBe('standard')
    expect(capability('tools.get_weather').level).toBe('trusted')
  })

  test('Python calls tools synchronously and gets Python values: structured content, text, images as bytes', async () => {
    const value = await run(
      [
        'r = tools_add(a=2, b=3)',
        'w = tools_get_weather(city_name="Oslo", class_="full")',
        'p = tools_pixel()',
        '(r, w["city"], w["detail"], p[0], p[1]["mime_type"], p[1]["data"][:4], tools_echo(text="hi"), tools_add(a=1))',
      ].join('\n'),
    )
    expect(value).toBe(
      "({'sum': 5}, 'Oslo', 'full', 'one pixel', 'image/png', b'\\x89PNG', 'hi', {'sum': 1})",
    )
  })

  test('asyncio.gather runs tool calls concurrently', async () => {
    const value = await run(
      [
        'import asyncio, time',
        'async def main():',
        '    start = time.monotonic()',
        '    results = await asyncio.gather(*(tools_slow(ms=800) for _ in range(4)))',
        '    return results, time.monotonic() - start',
        'results, took = await main()',
        '(results, took < 2.4)',
      ].join('\n'),
    )
    expect(value).toBe("(['waited 800 ms', 'waited 800 ms', 'waited 800 ms', 'waited 800 ms'], True)")
  })

  test('help() shows the tool description', async () => {
    expect(await run('tools_echo.__doc__.splitlines()[0]')).toBe("'Echo the text back.'")
  })

  test('a tool error raises CapabilityError with the tool’s text', async () => {
    const value = await run(
      [
        'from capsule import CapabilityError',
        'try:',
        '    tools_fail(why="no reason")',
        'except CapabilityError as error:',
        '    caught = (error.code, str(error))',
        'caught',
      ].join('\n'),
    )
    expect(value).toBe("('INTERNAL', 'the tool fail failed: refused: no reason')")
  })

  test('arguments the schema refuses raise InvalidArguments before the server is asked', async () => {
    const value = await run(
      [
        'from capsule import InvalidArguments',
        'try:',
        '    tools_add(a="two")',
        'except InvalidArguments as error:',
        '    caught = type(error).__name__',
        'caught',
      ].join('\n'),
    )
    expect(value).toBe("'InvalidArguments'")
  })

  test('server progress reaches the host as progress events of the call', async () => {
    const session = await capsule.session()
    const progress: ExecutionEvent[] = []
    for await (const event of session.execute('tools_slow(ms=200)'))
      if (event.type === 'progress') progress.push(event)
    await session.close()
    // The last report may race the result (the SDK dispatches notifications a turn later): what arrives
    // while the call is pending arrives in order.
    const seen = progress.map(
      (event) => event.type === 'progress' && [event.done, event.total, event.message],
    )
    expect(seen.length).toBeGreaterThanOrEqual(3)
    expect(seen).toEqual([1, 2, 3, 4].slice(0, seen.length).map((step) => [step, 4, `step ${step}`]))
  })

  test('interrupting the cell cancels the tool call', async () => {
    const session = await capsule.session()
    const started = Date.now()
    const events = session.execute('tools_slow(ms=30000)')
    for await (const event of events) if (event.type === 'call') break
    await session.interrupt()
    const result = await events.result
    await session.close()
    expect(result.status).toBe('interrupted')
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  test('a server that dies mid-call fails that call with UNAVAILABLE; the next call respawns it and other sessions carry on', async () => {
    const bystander = await capsule.session()
    const value = await run(
      [
        'from capsule import CapabilityError',
        'before = tools_pid()',
        'try:',
        '    tools_die()',
        'except CapabilityError as error:',
        '    code = error.code',
        'after = tools_pid()',
        '(code, before != after, tools_add(a=1, b=1))',
      ].join('\n'),
    )
    expect(value).toBe("('UNAVAILABLE', True, {'sum': 2})")
    const result = await bystander.run('tools_echo(text="still here")')
    await bystander.close()
    expect(result.value?.['text/plain']).toBe("'still here'")
  })

  test('per-tool overrides: a level, a Python name, a tool left out', async () => {
    const custom = await mcpProvider({
      name: 'custom',
      ...toolServerCommand(),
      stderr: 'ignore',
      pythonPrefix: '',
      tools: { getWeather: { level: 'restricted', python: 'weather' }, die: { enabled: false } },
    })
    try {
      const byName = new Map(custom.capabilities.map((entry) => [entry.name, entry]))
      expect(byName.get('get_weather')?.python).toBe('weather')
      expect(byName.get('get_weather')?.level).toBe('restricted')
      expect(byName.get('add')?.python).toBe('add')
      expect(byName.has('die')).toBe(false)
      expect(custom.skipped).toEqual([
        { tool: 'die', reason: 'disabled by the host (tools[name].enabled: false)' },
      ])
    } finally {
      await custom.dispose?.()
    }
  })
})
