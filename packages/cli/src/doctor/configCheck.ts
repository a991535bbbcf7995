import type { DoctorCheck } from './doctorCheck.js'

/** Whether the config file (if any) could be read: the other checks use it, or flags alone when it is broken. */
export const configCheck: DoctorCheck = {
  id: 'config',
  run: async ({ settings }) => {
    if (settings.configError !== undefined) {
      return {
        status: 'fail',
        summary: 'the config file cannot be used; the other checks ran on the flags alone',
        details: [settings.configError],
        fix: 'correct the file as the message says, or pass --no-config',
      }
    }
    if (settings.configFile === undefined) {
      return { status: 'ok', summary: 'no config file: flags and defaults only', details: [] }
    }
    return { status: 'ok', summary: `${settings.configFile} is valid`, details: [] }
  },
}
