import { expect, test } from 'vitest'
import { probePythonInterpreter } from '../../src/worker/pythonInterpreter.js'

test('a missing interpreter is reported without leaving a timer that keeps the host alive', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
  const before = timers()
  await expect(probePythonInterpreter('/nonexistent/python3')).rejects.toMatchObject({
    code: 'PYTHON_NOT_FOUND',
  })
  expect(timers()).toBe(before)
})
