import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { isSecretParameterName, redactForAudit, redactUrlSecrets } from '../../src/audit/auditLog.js'
import { type AuditEntry, Capsule, DEFAULT_LIMITS } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

describe('URL secrets in audited arguments', () => {
  test.each([
    ['https://api.example.com/v1?token=abc123&page=2', 'https://api.example.com/v1?token=[redacted]&page=2'],
    [
      'https://maps.example.com/api?key=AIzaSy0&q=paris',
      'https://maps.example.com/api?key=[redacted]&q=paris',
    ],
    [
      'https://x.example/?API_KEY=k&Api-Key=k2&apiKey=k3',
      'https://x.example/?API_KEY=[redacted]&Api-Key=[redacted]&apiKey=[redacted]',
    ],
    [
      'https://bucket.s3.amazonaws.com/f?X-Amz-Credential=AKIA%2F&X-Amz-Signature=abcd&X-Amz-Expires=60',
      'https://bucket.s3.amazonaws.com/f?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Expires=60',
    ],
    [
      'https://blob.example/c?sv=2020&sig=Zm9v%3D&se=2030',
      'https://blob.example/c?sv=2020&sig=[redacted]&se=2030',
    ],
    [
      'https://x.example/login?user=bob&Password=hunter2',
      'https://x.example/login?user=bob&Password=[redacted]',
    ],
    ['https://x.example/cb#access_token=eyJ&state=s', 'https://x.example/cb#access_token=[redacted]&state=s'],
    [
      'https://x.example/?client_secret=s&auth=a&session_id=i',
      'https://x.example/?client_secret=[redacted]&auth=[redacted]&session_id=[redacted]',
    ],
    ['https://x.example/?signature=s;secret=t', 'https://x.example/?signature=[redacted];secret=[redacted]'],
    ['https://bob:hunter2@db.example/x', 'https://bob:[redacted]@db.example/x'],
    ['https://ghp_abcdef@github.com/o/r.git', 'https://[redacted]@github.com/o/r.git'],
    [
      'grant_type=password&password=p&refresh_token=r',
      'grant_type=password&password=[redacted]&refresh_token=[redacted]',
    ],
    [
      'https://x.example/search?q=token&keyword=k&monkey=m',
      'https://x.example/search?q=token&keyword=k&monkey=m',
    ],
    ['https://x.example/?email=a@b.example&page=1', 'https://x.example/?email=a@b.example&page=1'],
    ['x == token', 'x == token'],
  ])('%s', (url, redacted) => {
    expect(redactUrlSecrets(url)).toBe(redacted)
    expect(redactForAudit({ url })).toEqual({ url: redacted })
  })

  test('parameter names are judged case-insensitively and after percent-decoding', () => {
    for (const name of [
      'TOKEN',
      'Access_Token',
      'accessToken',
      'api%5Fkey',
      'x-goog-signature',
      'PWD',
      'sid',
    ])
      expect(isSecretParameterName(name), name).toBe(true)
    for (const name of ['page', 'q', 'format', 'keyword', 'sort', 'expires'])
      expect(isSecretParameterName(name), name).toBe(false)
  })

  test('a long URL is cut first and still redacted, also when the cut falls inside a secret', () => {
    const url = `https://x.example/${'p'.repeat(230)}?token=${'s'.repeat(5000)}`
    const out = redactForAudit(url) as string
    expect(out).not.toMatch(/sss/)
    expect(out).toMatch(/\?token=\[redacted\]…\(\d+ chars\)$/)
  })

  test('headers, nested values and the capability’s secret arguments stay redacted', () => {
    expect(
      redactForAudit(
        {
          headers: { Authorization: 'Bearer x', 'X-Auth-Token': 't', Accept: 'a' },
          body: 'b',
          data: 'secret bytes',
        },
        new Set(['data']),
      ),
    ).toEqual({
      headers: { Authorization: '[redacted]', 'X-Auth-Token': '[redacted]', Accept: 'a' },
      body: 'b',
      data: '[redacted]',
    })
  })

  test('the copy is bounded, and so is the work for the widest value a frame may hold', () => {
    // Enumerating an object's keys is linear in V8 whatever we keep: maxFrameKeys bounds what arrives.
    const wide: Record<string, string> = {}
    for (let i = 0; i < DEFAULT_LIMITS.maxFrameKeys; i += 1)
      wide[`k${i}`] = `https://x.example/?token=${'t'.repeat(1000)}`
    const started = performance.now()
    const out = redactForAudit({ wide, list: new Array(DEFAULT_LIMITS.maxFrameItems).fill('v') }) as {
      wide: Record<string, string>
      list: string[]
    }
    const elapsed = performance.now() - started
    expect(Object.keys(out.wide)).toHaveLength(51)
    expect(out.wide['…']).toBe(`${DEFAULT_LIMITS.maxFrameKeys - 50} more keys`)
    expect(out.wide.k0).toMatch(/^https:\/\/x\.example\/\?token=\[redacted\]…\(\d+ chars\)$/)
    expect(out.list).toHaveLength(50)
    expect(JSON.stringify(out).length).toBeLessThan(20_000)
    // Generous for a loaded machine; it takes about a millisecond.
    expect(elapsed).toBeLessThan(100)
  })

  test('nested values share one budget of 200 values, however they are spread', () => {
    const level = (depth: number): unknown =>
      depth === 0
        ? 'leaf'
        : Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, level(depth - 1)]))
    const out = JSON.stringify(redactForAudit(level(4)))
    expect(out.match(/leaf/g)?.length ?? 0).toBeLessThan(200)
    expect(out).toMatch(/more keys/)
  })
})

test('a call from Python is audited, and streamed, with the secrets in its URL redacted', async () => {
  const entries: AuditEntry[] = []
  const provider = defineProvider({
    name: 'net',
    version: '1.0.0',
    capabilities: [
      defineCapability({
        name: 'get',
        level: 'sandbox',
        description: 'Pretend to fetch a URL.',
        input: z.object({ url: z.string(), headers: z.record(z.string(), z.string()).default({}) }),
        output: z.string(),
        handler: ({ url }) => new URL(url).searchParams.get('page') ?? '',
      }),
    ],
  })
  const capsule = new Capsule({
    sandbox: 'none',
    python: defaultPython.python,
    providers: [provider],
    onAudit: (entry) => entries.push(entry),
  })
  try {
    const session = await capsule.session()
    const calls: unknown[] = []
    const execution = session.execute(
      'get("https://api.example.com/v1?page=2&access_token=abc123&sig=zzz", headers={"Authorization": "Bearer t0k"})',
    )
    for await (const event of execution) if (event.type === 'call') calls.push(event.args)
    expect((await execution.result).value?.['text/plain']).toBe("'2'")
    const expected = {
      url: 'https://api.example.com/v1?page=2&access_token=[redacted]&sig=[redacted]',
      headers: { Authorization: '[redacted]' },
    }
    expect(calls).toEqual([expected])
    const decision = entries.find((entry) => entry.type === 'decision')
    expect(decision?.args).toEqual(expected)
    expect(JSON.stringify(entries)).not.toMatch(/abc123|zzz|t0k/)
    expect(entries.find((entry) => entry.type === 'outcome')?.bytesIn).toBeGreaterThan(50)
  } finally {
    await capsule.close()
  }
})
