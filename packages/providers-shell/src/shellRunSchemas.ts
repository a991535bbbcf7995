import { binary } from '@capsule/provider-sdk'
import { z } from 'zod'

/** The input of `shell.run`, in Python parameter order: `run_command(argv, cwd, env, stdin, timeout, check)`. */
export const shellRunInput = z.object({
  argv: z.array(z.string()).min(1),
  cwd: z.string().nullable().optional(),
  env: z.record(z.string(), z.string()).nullable().optional(),
  stdin: z.union([z.string(), binary()]).nullable().optional(),
  /** Seconds, like subprocess.run; never more than the provider's timeoutMs. */
  timeout: z.number().positive().nullable().optional(),
  /** Handled by the Python wrapper (CalledProcessError); the host ignores it. */
  check: z.boolean().optional(),
})

/** The result of `shell.run`: what Python's CompletedProcess holds, plus `truncated`. */
export const shellRunOutput = z.strictObject({
  args: z.array(z.string()),
  returncode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
})

/** A `shell.run` call's arguments, as the input schema parses them. */
export type ShellRunArgs = z.output<typeof shellRunInput>

/** A `shell.run` result. */
export type ShellRunResult = z.output<typeof shellRunOutput>
