import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Capsule, isCapsuleError } from '@capsule/core'
import { afterAll, describe, expect, test } from 'vitest'
import { postgresJournal } from '../src/index.js'
import { adminQuery, POSTGRES_URL, postgresUnavailable, uniqueSchema } from './postgresTestServer.js'

const unavailable = postgresUnavailable()
const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const PACKAGE = fileURLToPath(new URL('../', import.meta.url))
const TSX_LOADER = `${REPO}node_modules/tsx/dist/loader.mjs`
const PYTHON = '/usr/bin/python3'
const schemas: string[] = []
const capsules: Capsule[] = []

afterAll(async () => {
  await Promise.all(capsules.map((capsule) => capsule.close()))
  for (const schema of schemas) await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
})

function host(schema: string, checkpointKey: string): Capsule {
  const capsule = new Capsule({
    python: PYTHON,
    sandbox: 'none',
    journal: postgresJournal({ connectionString: POSTGRES_URL!, schema }),
    checkpointKey,
  })
  capsules.push(capsule)
  return capsule
}

// Host B: another process, its own Capsule on the same PostgreSQL schema, restoring by journal id only.
const HOST_B = `
import { Capsule } from '@capsule/core'
import { postgresJournal } from '@capsule/journal-postgres'
const [url, schema, key, id] = process.argv.slice(-4)
const capsule = new Capsule({ python: ${JSON.stringify(PYTHON)}, sandbox: 'none', checkpointKey: key,
  journal: postgresJournal({ connectionString: url, schema }) })
try {
  const session = await capsule.session({ restore: id })
  const check = await session.run('(area(2), totals["q2"], scale(7))')
  const python = await session.run('import capsule\\ncapsule.last_restore()["restored"]')
  console.log(JSON.stringify({ value: check.value?.['text/plain'], report: session.lastRestore,
    python: python.value?.['text/plain'], pid: process.pid }))
} catch (error) {
  console.log(JSON.stringify({ error: { code: error.code, message: error.message } }))
} finally {
  await capsule.close()
}
`

function hostB(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX_LOADER,
        '--conditions=@capsule/source',
        '--input-type=module',
        '-e',
        HOST_B,
        '--',
        ...args,
      ],
      { cwd: PACKAGE, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const CELLS = [
  'import math\ndef area(r):\n    return round(math.pi * r * r, 2)',
  'totals = {"q1": 10, "q2": 32}\nscale = (lambda k: (lambda v: v * k))(3)',
]

describe.skipIf(unavailable)('checkpoints across hosts on PostgreSQL', () => {
  test('a durable session checkpointed on host A restores by journal id in another process', async () => {
    const schema = uniqueSchema()
    schemas.push(schema)
    const key = randomBytes(32).toString('hex')
    const a = host(schema, key)
    const session = await a.session({ key: `report-${randomBytes(4).toString('hex')}` })
    for (const cell of CELLS) expect((await session.run(cell)).status).toBe('ok')
    const checkpoint = await session.checkpoint()
    expect(checkpoint.id).toMatch(/^cp_/)
    expect(checkpoint.header.sessionKey).toBeDefined()
    await session.close()
    await a.close()

    const b = await hostB([POSTGRES_URL!, schema, key, checkpoint.id!])
    expect(b.stderr).not.toMatch(/Error/)
    const answer = JSON.parse(b.stdout.trim().split('\n').pop()!)
    expect(answer.error).toBeUndefined()
    expect(answer.pid).not.toBe(process.pid)
    expect(answer.value).toBe('(12.57, 32, 21)')
    expect(answer.report.redefined).toEqual(expect.arrayContaining(['area', 'math']))
    expect(answer.report.restored).toEqual(expect.arrayContaining(['totals', 'scale']))
    expect(answer.report.lost).toEqual([])
    expect(answer.python).toBe("['scale', 'totals']")
  })

  test('a host with another checkpoint key refuses the journal checkpoint; an unknown id is UNKNOWN_RECORD', async () => {
    const schema = uniqueSchema()
    schemas.push(schema)
    const a = host(schema, randomBytes(32).toString('hex'))
    const session = await a.session({ key: 'keyed' })
    await session.run('x = 1')
    const { id } = await session.checkpoint()
    const stranger = host(schema, randomBytes(32).toString('hex'))
    const refused = await stranger.session({ restore: id! }).catch((error) => error)
    expect(isCapsuleError(refused, 'CHECKPOINT_INVALID')).toBe(true)
    expect(refused.details?.reason).toBe('signature')
    const unknown = await stranger.session({ restore: 'cp_nothing' }).catch((error) => error)
    expect(isCapsuleError(unknown, 'UNKNOWN_RECORD')).toBe(true)
  })
})
