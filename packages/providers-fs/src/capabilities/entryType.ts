import { z } from 'zod'

/** The schema of an entry's type: symlinks are reported as such and never followed. */
export const entryTypeSchema = z.enum(['file', 'dir', 'symlink', 'other'])
