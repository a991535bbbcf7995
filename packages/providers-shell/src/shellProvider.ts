import { defineCapability, defineProvider, type ProviderDefinition } from '@capsule/provider-sdk'
import { type ShellProviderOptions, shellProviderOptionsSchema } from './shellProviderOptions.js'
import { createShellRunHandler } from './shellRunHandler.js'
import { shellRunInput, shellRunOutput } from './shellRunSchemas.js'
import type { ShellSandbox } from './shellSandboxChoice.js'
import { resolveShellSetup } from './shellSetup.js'

const sandboxes = new WeakMap<ProviderDefinition, ShellSandbox>()

/** The sandbox a provider made by {@link shellProvider} runs its commands in, or undefined for other providers. */
export function shellSandboxInForce(provider: ProviderDefinition): ShellSandbox | undefined {
  return sandboxes.get(provider)
}

/**
 * The `shell` provider: one capability, `shell.run` (Python `run_command`), at level `trusted`. It
 * runs allowlisted programs resolved at configuration, with argument rules, no shell, a scrubbed
 * environment, cwd and path operands inside the roots, output/time/size/concurrency caps and
 * whole-tree kill, inside bubblewrap when available. Options are checked eagerly: bad options throw
 * ProviderDefinitionError. See the package README for every rule.
 */
export function shellProvider(options: ShellProviderOptions): ProviderDefinition {
  const setup = resolveShellSetup(options)
  const { options: parsed, sandbox, commands, roots } = setup
  const provider = defineProvider({
    name: 'shell',
    version: '0.1.0',
    description: `Allowlisted commands without a shell (sandbox: ${sandbox.kind}${sandbox.kind === 'none' && sandbox.why ? `, ${sandbox.why}` : ''}).`,
    configSchema: shellProviderOptionsSchema,
    dispose: () => {
      if (sandbox.kind === 'bwrap') sandbox.runner.dispose()
    },
    capabilities: [
      defineCapability({
        name: 'run',
        python: 'run_command',
        level: 'trusted',
        description: `Run an allowlisted command (${[...commands.keys()].join(', ')}) with an argv list, no shell. Returns a CompletedProcess; output is decoded as UTF-8 with replacement.`,
        input: shellRunInput,
        output: shellRunOutput,
        annotations: { destructive: roots.some((r) => r.write), openWorld: parsed.network },
        pythonResult: 'completed_process',
        // The call deadline must cover the command's own cap plus a git preflight.
        timeoutMs: parsed.timeoutMs + 5_000,
        handler: createShellRunHandler(setup),
      }),
    ],
  })
  sandboxes.set(provider, sandbox.kind)
  return provider
}
