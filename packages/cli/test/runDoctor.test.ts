import { expect, test } from 'vitest'
import type { DoctorCheck } from '../src/doctor/doctorCheck.js'
import { DoctorContext } from '../src/doctor/doctorContext.js'
import { judgeNodeVersion } from '../src/doctor/nodeCheck.js'
import { runDoctor } from '../src/doctor/runDoctor.js'
import { judgeUserNamespaces } from '../src/doctor/userNamespacesCheck.js'

const context = new DoctorContext({
  options: {},
  python: 'python3',
  pythonSource: 'test',
  sandboxInForce: 'none',
  limits: {} as never,
  configFile: undefined,
  configError: undefined,
})

test('a check that throws becomes a failure carrying its message, and the checks after it still run', async () => {
  const checks: DoctorCheck[] = [
    { id: 'first', run: async () => ({ status: 'ok', summary: 'fine', details: [] }) },
    {
      id: 'broken',
      run: async () => {
        throw new TypeError('cannot read properties of undefined')
      },
    },
    { id: 'last', run: async () => ({ status: 'warn', summary: 'meh', details: [], fix: 'x' }) },
  ]
  const seen: string[] = []
  const report = await runDoctor(checks, context, (result) => seen.push(result.id))
  expect(seen).toEqual(['first', 'broken', 'last'])
  expect(report.ok).toBe(false)
  expect(report.checks[1]).toMatchObject({
    id: 'broken',
    status: 'fail',
    summary: 'the check itself failed: cannot read properties of undefined',
  })
  expect(report.checks[1]?.fix).toBeTruthy()
})

test('warnings alone leave the report ok', async () => {
  const report = await runDoctor(
    [{ id: 'w', run: async () => ({ status: 'warn', summary: 'meh', details: [], fix: 'x' }) }],
    context,
  )
  expect(report.ok).toBe(true)
})

test('Node below 20.11 fails, Node 20 warns as past its end of life, 22 and 24 are ok', () => {
  expect(judgeNodeVersion('20.10.0').status).toBe('fail')
  expect(judgeNodeVersion('18.19.0').status).toBe('fail')
  const twenty = judgeNodeVersion('20.20.2')
  expect(twenty.status).toBe('warn')
  expect(twenty.fix).toContain('22 or 24')
  expect(judgeNodeVersion('22.12.0').status).toBe('ok')
  expect(judgeNodeVersion('24.1.0').status).toBe('ok')
})

test('an AppArmor refusal is a failure whose fix names both the bwrap profile and the sysctl', () => {
  const restricted = { unprivilegedUsernsClone: undefined, maxUserNamespaces: 63000, apparmorRestrict: 1 }
  const refused = judgeUserNamespaces(restricted, false)
  expect(refused.status).toBe('fail')
  expect(refused.fix).toContain('/etc/apparmor.d/bwrap')
  expect(refused.fix).toContain('userns,')
  expect(refused.fix).toContain('kernel.apparmor_restrict_unprivileged_userns=0')
  // Restricted, but a sandbox started: a profile lets bwrap through.
  expect(judgeUserNamespaces(restricted, true).status).toBe('ok')
  const debian = judgeUserNamespaces(
    { unprivilegedUsernsClone: 0, maxUserNamespaces: 63000, apparmorRestrict: undefined },
    undefined,
  )
  expect(debian).toMatchObject({ status: 'fail' })
  expect(debian.fix).toContain('kernel.unprivileged_userns_clone=1')
  const none = judgeUserNamespaces(
    { unprivilegedUsernsClone: undefined, maxUserNamespaces: 0, apparmorRestrict: undefined },
    false,
  )
  expect(none.fix).toContain('user.max_user_namespaces=15000')
})
