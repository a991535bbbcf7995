import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Capsule, type Session } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

/** One line to the worker's server on 127.0.0.1 and its whole answer, from the host process. */
function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
    socket.end(`${line}\n`)
  })
}

describe('the event loop between cells', () => {
  let capsule: Capsule
  let session: Session
  let port: number

  beforeAll(async () => {
    capsule = new Capsule({ sandbox: 'none', python: defaultPython.python, level: 'restricted' })
    session = await capsule.session()
    const started = await session.run(
      [
        'import asyncio',
        'async def handle(reader, writer):',
        '    line = await reader.readline()',
        "    print('served', line.decode().strip())",
        '    writer.write(line.upper())',
        '    await writer.drain()',
        '    writer.close()',
        "server = await asyncio.start_server(handle, '127.0.0.1', 0)",
        'server.sockets[0].getsockname()[1]',
      ].join('\n'),
    )
    port = Number(started.value?.['text/plain'])
  })
  afterAll(() => capsule.close())

  test('a server started by one cell answers while the session is idle', async () => {
    expect(session.info().state).toBe('idle')
    expect(await ask(port, 'ping')).toBe('PING\n')
    expect(await ask(port, 'pong')).toBe('PONG\n')
  })

  test('what background tasks print while idle arrives with the next execution, before its result', async () => {
    expect(await ask(port, 'held')).toBe('HELD\n')
    const result = await session.run('"next"')
    expect(result.value).toEqual({ 'text/plain': "'next'" })
    expect(result.stdout).toContain('served held\n')
  })

  test('an interrupt still reaches the running cell, and the server stays up', async () => {
    for (const code of [
      'print("go", flush=True)\nawait asyncio.sleep(60)',
      'import time\nprint("go", flush=True)\ntime.sleep(60)',
    ]) {
      const execution = session.execute(code)
      for await (const event of execution) {
        if (event.type === 'stdout') await session.interrupt()
        if (event.type === 'error') {
          expect(event.result.status).toBe('interrupted')
          expect(event.result.error?.ename).toBe('KeyboardInterrupt')
        }
      }
      expect(await ask(port, 'up')).toBe('UP\n')
    }
  })

  test('a sync cell still runs with the loop stopped, so asyncio.run works there', async () => {
    const result = await session.run('async def f():\n    return "ran"\nasyncio.run(f())')
    expect(result.value).toEqual({ 'text/plain': "'ran'" })
    expect(await ask(port, 'after')).toBe('AFTER\n')
  })
})
