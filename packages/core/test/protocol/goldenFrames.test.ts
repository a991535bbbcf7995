import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { type CodecName, createCodec } from '../../src/protocol/codec.js'
import { tagForJson, untagFromJson } from '../../src/protocol/jsonTags.js'
import { workerMessageSchema } from '../../src/protocol/messages.js'
import { encodeFrame } from '../../src/transport/frameTransport.js'

// docs/golden-frames.json is read by this suite and by the Python worker's; set UPDATE_GOLDEN=1 to rewrite it.
const GOLDEN_PATH = new URL('../../../../docs/golden-frames.json', import.meta.url)

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'))

const MESSAGES: Array<{ name: string; direction: 'worker' | 'host'; message: Record<string, unknown> }> = [
  {
    name: 'hello',
    direction: 'worker',
    message: {
      type: 'hello',
      protocol: 1,
      codec: 'msgpack',
      worker: {
        python: '3.11.2',
        implementation: 'cpython',
        executable: '/usr/bin/python3',
        prefix: '/usr',
        pid: 4242,
        codecs: ['msgpack', 'json'],
        startupMs: 3.5,
      },
    },
  },
  {
    name: 'init',
    direction: 'host',
    message: {
      type: 'init',
      session: 'ses_1',
      capabilities: [
        {
          id: 'fs.read_file',
          name: 'read_file',
          doc: 'Read a file.',
          params: [
            { name: 'path', kind: 'positional_or_keyword', required: true, annotation: 'str' },
            {
              name: 'encoding',
              kind: 'positional_or_keyword',
              required: false,
              default: 'utf-8',
              annotation: 'str | None',
            },
          ],
          returns: 'str | bytes',
        },
      ],
      options: {
        maxOutputBytes: 10485760,
        maxFrameBytes: 4194304,
        outputFlushMs: 10,
        displayMaxBytes: 1048576,
      },
    },
  },
  { name: 'ready', direction: 'worker', message: { type: 'ready', capabilities: ['read_file'] } },
  { name: 'execute', direction: 'host', message: { type: 'execute', id: 1, code: 'x = 40\nx + 2' } },
  {
    name: 'stream',
    direction: 'worker',
    message: { type: 'stream', id: 1, name: 'stdout', text: 'héllo\n' },
  },
  {
    name: 'display',
    direction: 'worker',
    message: {
      type: 'display',
      id: 1,
      data: { 'text/plain': '<Chart>', 'text/html': '<b>chart</b>' },
      metadata: {},
    },
  },
  {
    name: 'result',
    direction: 'worker',
    message: { type: 'result', id: 1, count: 1, value: { 'text/plain': '42' }, truncated: 0 },
  },
  {
    name: 'result-none',
    direction: 'worker',
    message: { type: 'result', id: 2, count: 2, value: null, truncated: 0 },
  },
  {
    name: 'error',
    direction: 'worker',
    message: {
      type: 'error',
      id: 3,
      count: 3,
      ename: 'ZeroDivisionError',
      evalue: 'division by zero',
      traceback: [
        'Traceback (most recent call last):\n',
        '  File "<cell-3>", line 1, in <module>\n',
        'ZeroDivisionError: division by zero\n',
      ],
      truncated: 0,
    },
  },
  { name: 'interrupt', direction: 'host', message: { type: 'interrupt', id: 3 } },
  {
    name: 'call',
    direction: 'worker',
    message: {
      type: 'call',
      id: 7,
      exec: 1,
      capability: 'fs.write_file',
      args: { path: 'a.bin', data: bytes('\x00\x01raw') },
    },
  },
  {
    name: 'call-background',
    direction: 'worker',
    message: { type: 'call', id: 8, exec: null, capability: 'kv.get', args: { key: 'k' } },
  },
  {
    name: 'call_result',
    direction: 'host',
    message: { type: 'call_result', id: 7, value: { path: 'a.bin', bytes: 5 } },
  },
  {
    name: 'call_result-bytes',
    direction: 'host',
    message: { type: 'call_result', id: 9, value: bytes('\xffbinary') },
  },
  {
    name: 'call_result-tag-lookalike',
    direction: 'host',
    message: { type: 'call_result', id: 10, value: { $b: 'not bytes, a user key' } },
  },
  {
    name: 'call_error',
    direction: 'host',
    message: { type: 'call_error', id: 7, code: 'DENIED', message: 'fs.write_file is not granted' },
  },
  { name: 'call_cancel', direction: 'worker', message: { type: 'call_cancel', id: 8 } },
  { name: 'heartbeat-host', direction: 'host', message: { type: 'heartbeat', seq: 12 } },
  { name: 'heartbeat-worker', direction: 'worker', message: { type: 'heartbeat', seq: 12 } },
  { name: 'checkpoint', direction: 'host', message: { type: 'checkpoint', id: 3 } },
  {
    name: 'checkpoint_chunk',
    direction: 'worker',
    message: { type: 'checkpoint_chunk', id: 3, data: bytes('\u0000\u0000\u0000\u0010pickle') },
  },
  {
    name: 'checkpoint_done',
    direction: 'worker',
    message: {
      type: 'checkpoint_done',
      id: 3,
      bytes: 10,
      python: '3.11.2/a70d0d0a',
      hashSeed: '12345',
      names: {
        data: ['rows'],
        redefined: ['Point', 'json'],
        lost: [{ name: 'fh', reason: 'unpicklable: open file' }],
      },
    },
  },
  {
    name: 'checkpoint_failed',
    direction: 'worker',
    message: {
      type: 'checkpoint_failed',
      id: 3,
      message: 'RecursionError: maximum recursion depth exceeded',
    },
  },
  { name: 'restore', direction: 'host', message: { type: 'restore', id: 4, bytes: 10 } },
  {
    name: 'restore_chunk',
    direction: 'host',
    message: { type: 'restore_chunk', id: 4, data: bytes('\u0000\u0000\u0000\u0010pickle') },
  },
  {
    name: 'restore_done',
    direction: 'worker',
    message: {
      type: 'restore_done',
      id: 4,
      report: {
        restored: ['rows'],
        redefined: ['Point', 'json'],
        lost: [{ name: 'fh', reason: 'unpicklable: open file' }],
        missingCapabilities: [],
      },
    },
  },
  {
    name: 'restore_failed',
    direction: 'worker',
    message: { type: 'restore_failed', id: 4, message: 'checkpoint format 2 is not 1' },
  },
  { name: 'shutdown', direction: 'host', message: { type: 'shutdown' } },
]

interface GoldenFrame {
  name: string
  codec: CodecName
  direction: 'worker' | 'host'
  hex: string
  message: unknown
}

function buildGolden(): GoldenFrame[] {
  const frames: GoldenFrame[] = []
  for (const codecName of ['msgpack', 'json'] as const) {
    const codec = createCodec(codecName)
    for (const { name, direction, message } of MESSAGES) {
      const value = name === 'hello' ? { ...message, codec: codecName } : message
      frames.push({
        name,
        codec: codecName,
        direction,
        hex: encodeFrame(codec.encode(value)).toString('hex'),
        message: tagForJson(value),
      })
    }
  }
  return frames
}

describe('golden frames', () => {
  const expected = buildGolden()
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN_PATH, `${JSON.stringify(expected, null, 2)}\n`)
  const golden = JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as GoldenFrame[]

  test('the file matches what the host codecs produce (run with UPDATE_GOLDEN=1 after a deliberate change)', () => {
    expect(golden).toEqual(expected)
  })

  test.each(golden.map((frame) => [`${frame.codec} ${frame.name}`, frame] as const))(
    '%s decodes to its message',
    (_, frame) => {
      const codec = createCodec(frame.codec)
      const raw = Buffer.from(frame.hex, 'hex')
      expect(raw.readUInt32BE(0)).toBe(raw.byteLength - 4)
      expect(codec.decode(raw.subarray(4))).toEqual(untagFromJson(frame.message))
    },
  )

  test('every worker-direction golden frame passes the host schema', () => {
    for (const frame of golden.filter((f) => f.direction === 'worker')) {
      const parsed = workerMessageSchema.safeParse(untagFromJson(frame.message))
      expect(parsed.success, frame.name).toBe(true)
    }
  })
})
