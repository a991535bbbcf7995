// Real Python work inside the default sandbox, as a data scientist does it: Debian's numpy, pandas and
// matplotlib with /usr/bin/python3, localhost servers, the sandbox user's identity, and threads and
// memory under the default limits (sandboxed and not).
import { spawnSync } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Capsule, probeSandbox, type Session } from '../../src/index.js'
import { warmMatplotlibFontCache } from '../../src/worker/matplotlibFontCache.js'

const PYTHON = '/usr/bin/python3'
const probe = await probeSandbox()
const has = (module: string) =>
  spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0
const science = has('numpy') && has('pandas') && has('matplotlib')
const noSandbox = probe.available ? '' : ` (skipped: bubblewrap is unavailable: ${probe.message})`
const noScience = science ? '' : ' (skipped: numpy, pandas or matplotlib is missing for /usr/bin/python3)'

const THREADS = `
import threading
ev = threading.Event()
threads = [threading.Thread(target=ev.wait) for _ in range(256)]
for t in threads:
    t.start()
ev.set()
for t in threads:
    t.join()
len(threads)`

const BOMBS = `
out = {}
try:
    b = bytearray(4 << 30)
    out['bytearray'] = 'allocated'
except MemoryError:
    out['bytearray'] = 'MemoryError'
grown = []
try:
    while True:
        grown.append(bytearray(16 << 20))
except MemoryError:
    out['list'] = 'MemoryError'
del grown
out`

describe.skipIf(noSandbox !== '' || noScience !== '')(
  `the scientific stack in a sandboxed session${noSandbox}${noScience}`,
  () => {
    let capsule: Capsule
    let session: Session

    beforeAll(async () => {
      capsule = new Capsule({ python: PYTHON, sandbox: 'bwrap', level: 'standard' })
      session = await capsule.session()
    }, 60_000)
    afterAll(async () => {
      await capsule?.close()
    })

    test('numpy computes (its BLAS comes through /etc/alternatives) and pandas works', async () => {
      const result = await session.run(
        'import numpy as np, pandas as pd\n' +
          'a = np.linalg.inv(np.eye(3) * 2)\n' +
          "df = pd.DataFrame({'k': [1, 1, 2], 'v': [1.0, 2.0, 3.0]})\n" +
          "(float(a.sum()), df.groupby('k')['v'].sum().tolist())",
      )
      expect(result.status, result.error?.evalue).toBe('ok')
      expect(result.value?.['text/plain']).toBe('(1.5, [3.0, 3.0])')
    }, 60_000)

    test('matplotlib renders a PNG display', async () => {
      const result = await session.run('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2]);')
      expect(result.status, result.error?.evalue).toBe('ok')
      expect(result.displays).toHaveLength(1)
      const png = Buffer.from(result.displays[0]!.data['image/png'] as string, 'base64')
      expect(png.subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]))
    }, 60_000)

    test("a fresh session starts with the host's matplotlib font list, in a directory of its own", async () => {
      const dir = await warmMatplotlibFontCache({ executable: realpathSync(PYTHON) })
      expect(dir).not.toBeNull()
      const fresh = await capsule.session()
      try {
        const result = await fresh.run(
          'import os\nd = os.environ["MPLCONFIGDIR"]\n' +
            '(d.startswith("/tmp/capsule-matplotlib-"), os.access(d, os.W_OK), [n.startswith("fontlist-") for n in os.listdir(d)], os.access("/etc/capsule/matplotlib", os.W_OK))',
        )
        expect(result.status, result.error?.evalue).toBe('ok')
        expect(result.value?.['text/plain']).toBe('(True, True, [True], False)')
      } finally {
        await fresh.close()
      }
    }, 60_000)

    test('localhost resolves, and asyncio servers on 127.0.0.1 and localhost accept connections', async () => {
      const result = await session.run(`
import asyncio, socket
async def roundtrip(host):
    async def handle(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, host, 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b'ping\\n')
    line = await reader.readline()
    writer.close()
    server.close()
    await server.wait_closed()
    return line.decode().strip()
(sorted({a[4][0] for a in socket.getaddrinfo('localhost', 80)}), await roundtrip('127.0.0.1'), await roundtrip('localhost'), socket.gethostname())`)
      expect(result.status, result.error?.evalue).toBe('ok')
      expect(result.value?.['text/plain']).toMatch(/^\(\['127\.0\.0\.1'.*\], 'ping', 'ping', 'capsule'\)$/)
    }, 60_000)

    test('the sandbox user has a name and a home; host secrets and identity in /etc are absent', async () => {
      const result = await session.run(`
import getpass, os, pwd
paths = ['/etc/shadow', '/etc/gshadow', '/etc/machine-id', '/etc/hostname', '/etc/ssh', '/etc/resolv.conf', '/etc/sudoers']
(pwd.getpwuid(os.getuid()).pw_name, getpass.getuser(), os.path.expanduser('~'), [p for p in paths if os.path.lexists(p)])`)
      expect(result.status, result.error?.evalue).toBe('ok')
      expect(result.value?.['text/plain']).toBe("('capsule', 'capsule', '/tmp', [])")
    }, 60_000)

    test('256 threads start and join under the default limits', async () => {
      const result = await session.run(THREADS)
      expect(result.status, result.error?.evalue).toBe('ok')
      expect(result.value?.['text/plain']).toBe('256')
    }, 60_000)

    test('a memory bomb ends in MemoryError, numpy past the limit fails cleanly, and the worker lives on', async () => {
      const result = await session.run(BOMBS)
      expect(result.status, result.error?.evalue).toBe('ok')
      expect(result.value?.['text/plain']).toBe("{'bytearray': 'MemoryError', 'list': 'MemoryError'}")
      const numpy = await session.run('import numpy as np\nnp.ones((1 << 31,), dtype=np.float64)')
      expect(numpy.error?.ename).toBe('MemoryError')
      expect((await session.run('1 + 1')).value?.['text/plain']).toBe('2')
    }, 60_000)
  },
)

describe('threads and memory under the default limits without a sandbox', () => {
  let capsule: Capsule
  let session: Session

  beforeAll(async () => {
    capsule = new Capsule({ python: PYTHON, sandbox: 'none', level: 'unrestricted' })
    session = await capsule.session()
  }, 60_000)
  afterAll(async () => {
    await capsule?.close()
  })

  test('256 threads start and join', async () => {
    const result = await session.run(THREADS)
    expect(result.status, result.error?.evalue).toBe('ok')
    expect(result.value?.['text/plain']).toBe('256')
  }, 60_000)

  test('a memory bomb ends in MemoryError and the worker lives on', async () => {
    const result = await session.run(BOMBS)
    expect(result.status, result.error?.evalue).toBe('ok')
    expect(result.value?.['text/plain']).toBe("{'bytearray': 'MemoryError', 'list': 'MemoryError'}")
    expect((await session.run('1 + 1')).value?.['text/plain']).toBe('2')
  }, 60_000)
})
