import { z } from 'zod'

// Node's spawn takes uid and gid as int32.
const id = z.number().int().min(1).max(2147483647)

/**
 * The schema of the `sandboxUser` option (see SandboxUserOptions in @capsule/sandbox), shared by
 * `new Capsule()` and config files. Range arithmetic is checked by SandboxUidPool itself.
 */
export const sandboxUserSchema = z.strictObject({
  uids: z.strictObject({ first: id, count: z.number().int().min(1) }).optional(),
  gid: id.optional(),
  leaseDir: z.string().min(1).optional(),
})
