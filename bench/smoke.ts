import { Capsule } from '../packages/core/src/index.js'
import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { z } from 'zod'
const p = defineProvider({ name: 'b', version: '1.0.0', capabilities: [defineCapability({ name: 'noop', level: 'sandbox', description: 'x', input: z.object({}), output: z.null(), handler: () => null })] })
const c = new Capsule({ sandbox: 'none', python: '/usr/bin/python3', providers: [p] })
const s = await c.session()
await s.run('import asyncio, time')
const u0 = process.cpuUsage()
const t0 = performance.now()
const r = await s.run('t=time.perf_counter(); c=time.process_time()\nfor _ in range(5):\n    await asyncio.gather(*[noop() for _ in range(10000)])\n(50000/(time.perf_counter()-t), time.process_time()-c, time.perf_counter()-t)')
const wall = performance.now() - t0
const u = process.cpuUsage(u0)
console.log(r.value, 'node cpu ms', (u.user + u.system) / 1000, 'wall', wall)
await c.close()
