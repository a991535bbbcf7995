import { CapabilityError, defineCapability, defineProvider } from '@capsule/provider-sdk'
import { afterEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { type AuditEntry, Capsule, isCapsuleError } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

const SECRET = 'sk-live-4f9a8b7c6d5e4f3a2b1c0d9e'

// A provider with its own rules, as fs and http have: `open_door` refuses every door but "front".
const doors = defineProvider({
  name: 'doors',
  version: '1.0.0',
  capabilities: [
    defineCapability({
      name: 'open_door',
      level: 'sandbox',
      description: 'Open a door.',
      input: z.object({ door: z.string() }),
      output: z.string(),
      handler: ({ door }) => {
        if (door !== 'front')
          throw new CapabilityError('DENIED', `door ${door} is not in allow`, {
            details: { rule: 'allow', option: 'doors.allow', value: door },
          })
        return 'opened'
      },
    }),
    defineCapability({
      name: 'knock',
      level: 'sandbox',
      description: 'Refuse without naming a rule.',
      input: z.object({}),
      output: z.string(),
      handler: () => {
        throw new CapabilityError('DENIED', 'nobody home')
      },
    }),
    defineCapability({
      name: 'login',
      level: 'sandbox',
      description: 'Fails with a plain Error that quotes its secret.',
      input: z.object({ user: z.string(), token: z.string() }),
      output: z.string(),
      secretArgs: ['token'],
      handler: ({ user, token }) => {
        throw new Error(`login for ${user} with ${token} failed at https://x.test/?api_key=${token}`)
      },
    }),
    defineCapability({
      name: 'vault',
      level: 'trusted',
      description: 'Never granted at sandbox level.',
      input: z.object({}),
      output: z.string(),
      handler: () => 'gold',
    }),
  ],
})

const capsules: Capsule[] = []
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((capsule) => capsule.close()))
})

async function open() {
  const audit: AuditEntry[] = []
  const logged: string[] = []
  const log = (message: string, fields?: Record<string, unknown>) =>
    logged.push(`${message} ${JSON.stringify(fields ?? {})}`)
  const capsule = new Capsule({
    sandbox: 'none',
    python: defaultPython.python,
    codec: defaultPython.codec,
    level: 'sandbox',
    allow: ['doors.open_door', 'doors.knock', 'doors.login'],
    providers: [doors],
    onAudit: (entry) => audit.push(entry),
    logger: { debug: log, info: log, warn: log, error: log },
  })
  capsules.push(capsule)
  return { capsule, session: await capsule.session(), audit, logged }
}

describe('audit decisions', () => {
  test("a provider rule's refusal is a denied decision naming the rule and option, and the audit's denied count is info()'s", async () => {
    const { session, audit } = await open()
    const result = await session.run(`
from capsule import CapabilityDenied
out = [open_door("front")]
for door in ("back", "cellar"):
    try:
        open_door(door)
    except CapabilityDenied:
        out.append("denied")
try:
    knock()
except CapabilityDenied:
    out.append("denied")
out`)
    expect(result.value?.['text/plain']).toBe("['opened', 'denied', 'denied', 'denied']")
    const denied = audit.filter((entry) => entry.decision === 'denied')
    expect(denied.map((entry) => [entry.capability, entry.rule, entry.option])).toEqual([
      ['doors.open_door', 'provider:allow', 'doors.allow'],
      ['doors.open_door', 'provider:allow', 'doors.allow'],
      ['doors.knock', 'provider', undefined],
    ])
    expect(denied.every((entry) => entry.type === 'decision')).toBe(true)
    expect(denied.length).toBe(session.info().calls.denied)
    // The refused call's last decision is the denial, followed by its outcome.
    const callId = denied[0]!.callId
    expect(audit.filter((entry) => entry.callId === callId).map((e) => e.decision ?? e.state)).toEqual([
      'allowed',
      'denied',
      'rejected',
    ])
  })

  test("a policy denial (a forged call frame) and a provider denial both count once in the audit's denied entries", async () => {
    const { session, audit } = await open()
    // Untrusted code writes a call frame for a capability it was never given.
    const code = `
import capsule_worker.__main__ as m, gc
from capsule_worker.calls import CallManager
manager = next(o for o in gc.get_objects() if isinstance(o, CallManager))
class Spec:
    id = "doors.vault"; name = "vault"; wrap = None
try:
    manager.call_sync(Spec(), {})
except Exception as e:
    print(type(e).__name__)
try:
    open_door("back")
except Exception as e:
    print(type(e).__name__)
`
    const result = await session.run(code)
    expect(result.stdout).toBe('CapabilityDenied\nCapabilityDenied\n')
    const denied = audit.filter((entry) => entry.decision === 'denied')
    expect(denied.map((entry) => entry.rule)).toEqual(['not-granted:sandbox', 'provider:allow'])
    expect(session.info().calls.denied).toBe(denied.length)
  })

  test("a plain Error's message is redacted in the audit and the host log: no secret argument, URL secret or token", async () => {
    const { session, audit, logged } = await open()
    const result = await session.run(`
from capsule import CapabilityError
try:
    login("ada", "${SECRET}")
except CapabilityError as e:
    print(e.code, e)`)
    expect(result.stdout).toBe('INTERNAL internal error in doors.login\n')
    const outcome = audit.find((entry) => entry.type === 'outcome' && entry.capability === 'doors.login')
    expect(outcome?.errorDetail).toBe(
      'Error: login for ada with [redacted] failed at https://x.test/?api_key=[redacted]',
    )
    expect(JSON.stringify(audit)).not.toContain(SECRET)
    expect(logged.join('\n')).not.toContain(SECRET)
    expect(logged.join('\n')).toContain('login for ada with [redacted]')
  })
})

describe('capsule.promises', () => {
  test('list() filters by kind, and resolving an execution says executions settle themselves', async () => {
    const { capsule, session } = await open()
    const running = session.run('import time\ntime.sleep(0.3)')
    const [execution] = capsule.promises.list({ kind: 'execution' })
    expect(execution?.kind).toBe('execution')
    expect(capsule.promises.list({ kind: 'input' })).toEqual([])
    expect(capsule.promises.list({ kind: 'call' })).toEqual([])
    let caught: unknown
    try {
      capsule.promises.resolve(execution!.id, 'x')
    } catch (error) {
      caught = error
    }
    expect(isCapsuleError(caught, 'INVALID_ARGUMENT')).toBe(true)
    expect((caught as Error).message).toContain('executions settle themselves')
    expect((caught as { details: unknown }).details).toEqual({ id: execution!.id, kind: 'execution' })
    expect((await running).status).toBe('ok')
  })
})
