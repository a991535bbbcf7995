import type { DoctorCheck } from './doctorCheck.js'
import { SYSTEM_PYTHON } from './doctorContext.js'

/** Whether the interpreter can import msgpack: the fast binary codec, else the JSON one. */
export const msgpackCheck: DoctorCheck = {
  id: 'msgpack',
  run: async (context) => {
    const [chosen, ...others] = await context.candidates()
    const codec = context.settings.options.codec ?? 'auto'
    if (!chosen?.info) {
      return { status: 'skip', summary: 'no usable interpreter (see python)', details: [] }
    }
    const { info } = chosen
    const details = [`codec option: ${codec}`]
    const system = others.find((other) => other.info)
    if (system?.info) {
      details.push(`${system.python}: msgpack ${system.info.hasMsgpack ? 'importable' : 'not importable'}`)
    }
    if (info.hasMsgpack) {
      const used =
        codec === 'json' ? 'but the codec option chooses JSON' : 'workers use the MessagePack codec'
      return { status: 'ok', summary: `${info.executable} imports msgpack: ${used}`, details }
    }
    if (codec === 'json') {
      return { status: 'ok', summary: 'the codec option chooses JSON; msgpack is not needed', details }
    }
    const install =
      info.executable.startsWith('/usr/') || chosen.python === SYSTEM_PYTHON
        ? 'apt-get install python3-msgpack (dnf install python3-msgpack)'
        : `${info.executable} -m pip install msgpack`
    const alternative =
      system?.info?.hasMsgpack === true ? `, or use --python ${system.python}, which has it` : ''
    return {
      status: codec === 'msgpack' ? 'fail' : 'warn',
      summary:
        codec === 'msgpack'
          ? `${info.executable} cannot import msgpack, and the codec option requires it`
          : `${info.executable} cannot import msgpack: workers fall back to the JSON codec (slower, larger frames)`,
      details,
      fix: `${install}${alternative}`,
    }
  },
}
