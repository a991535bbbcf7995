import { bwrapCheck } from './bwrapCheck.js'
import { cgroupsCheck } from './cgroupsCheck.js'
import { configCheck } from './configCheck.js'
import type { DoctorCheck } from './doctorCheck.js'
import { interpreterCheck } from './interpreterCheck.js'
import { msgpackCheck } from './msgpackCheck.js'
import { nodeCheck } from './nodeCheck.js'
import { scienceStackCheck } from './scienceStackCheck.js'
import { uidDropCheck } from './uidDropCheck.js'
import { userNamespacesCheck } from './userNamespacesCheck.js'

/** Every check of `capsule doctor`, in the order it reports them: what later checks rest on comes first. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  configCheck,
  nodeCheck,
  interpreterCheck,
  msgpackCheck,
  bwrapCheck,
  userNamespacesCheck,
  uidDropCheck,
  cgroupsCheck,
  scienceStackCheck,
]
