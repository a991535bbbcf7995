import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type EtcCopyRequest, etcCopyIsCurrent, prepareEtcCopy } from '../src/index.js'

let work: string
let etc: string
let request: EtcCopyRequest

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'capsule-etc-test-'))
  etc = join(work, 'etc')
  mkdirSync(join(etc, 'fonts', 'conf.d'), { recursive: true })
  writeFileSync(join(etc, 'fonts', 'fonts.conf'), '<fontconfig/>')
  symlinkSync(
    '/usr/share/fontconfig/conf.avail/10-hinting.conf',
    join(etc, 'fonts', 'conf.d', '10-hinting.conf'),
  )
  writeFileSync(join(etc, 'services'), 'http 80/tcp\n', { mode: 0o666 })
  writeFileSync(join(etc, 'shadow'), 'root:secret\n', { mode: 0o600 })
  symlinkSync('/usr/share/zoneinfo/Etc/UTC', join(etc, 'localtime'))
  writeFileSync(join(work, 'elsewhere'), 'followed\n')
  symlinkSync(join(work, 'elsewhere'), join(etc, 'timezone'))
  request = {
    sourceRoot: etc,
    entries: ['fonts', 'services', 'localtime', 'timezone', 'missing'],
    generated: { hosts: '127.0.0.1\tlocalhost\n' },
    mountPoints: [
      { path: 'capsule/matplotlib', kind: 'dir' },
      { path: 'extra.conf', kind: 'file' },
    ],
    parent: work,
  }
})
afterEach(() => rmSync(work, { recursive: true, force: true }))

describe('prepareEtcCopy', () => {
  test('copies only the listed entries, symlinks into /usr as symlinks, others followed, modes without group or world write', () => {
    const { dir } = prepareEtcCopy(request)
    expect(readFileSync(join(dir, 'fonts', 'fonts.conf'), 'utf8')).toBe('<fontconfig/>')
    expect(readlinkSync(join(dir, 'fonts', 'conf.d', '10-hinting.conf'))).toBe(
      '/usr/share/fontconfig/conf.avail/10-hinting.conf',
    )
    expect(readlinkSync(join(dir, 'localtime'))).toBe('/usr/share/zoneinfo/Etc/UTC')
    expect(lstatSync(join(dir, 'timezone')).isFile()).toBe(true)
    expect(readFileSync(join(dir, 'timezone'), 'utf8')).toBe('followed\n')
    expect(lstatSync(join(dir, 'services')).mode & 0o777).toBe(0o644)
    expect(lstatSync(dir).mode & 0o777).toBe(0o755)
    expect(readFileSync(join(dir, 'hosts'), 'utf8')).toBe('127.0.0.1\tlocalhost\n')
    expect(lstatSync(join(dir, 'capsule', 'matplotlib')).isDirectory()).toBe(true)
    expect(lstatSync(join(dir, 'extra.conf')).isFile()).toBe(true)
    expect(lstatSync(join(dir, 'shadow'), { throwIfNoEntry: false })).toBeUndefined()
    expect(lstatSync(join(dir, 'missing'), { throwIfNoEntry: false })).toBeUndefined()
  })

  test('stays current until the host entries or the copy change', () => {
    const copy = prepareEtcCopy(request)
    expect(etcCopyIsCurrent(copy)).toBe(true)
    const later = new Date(Date.now() + 5_000)
    utimesSync(join(etc, 'fonts', 'fonts.conf'), later, later)
    expect(etcCopyIsCurrent(copy)).toBe(false)

    const second = prepareEtcCopy(request)
    expect(etcCopyIsCurrent(second)).toBe(true)
    writeFileSync(join(etc, 'fonts', 'conf.d', 'new.conf'), 'x')
    expect(etcCopyIsCurrent(second)).toBe(false)

    const third = prepareEtcCopy(request)
    rmSync(join(third.dir, 'services'))
    expect(etcCopyIsCurrent(third)).toBe(false)

    const fourth = prepareEtcCopy(request)
    writeFileSync(join(etc, 'missing'), 'now here')
    expect(etcCopyIsCurrent(fourth)).toBe(false)

    const fifth = prepareEtcCopy(request)
    chmodSync(fifth.dir, 0o777)
    expect(etcCopyIsCurrent(fifth)).toBe(false)
  })
})
