// Brands for `instanceof` across duplicate package copies (two versions installed side by side, or a
// bundled copy next to an installed one), as undici does: each error carries a registered symbol
// (Symbol.for, the same in every copy) and its class's static Symbol.hasInstance looks for it.

/** The brand of every CapsuleError-family error; @capsule/core's CapsuleError recognises it. */
export const CAPSULE_ERROR_BRAND: unique symbol = Symbol.for('capsule.error') as never
/** The brand of {@link CapabilityError}. */
export const CAPABILITY_ERROR_BRAND: unique symbol = Symbol.for('capsule.capability-error') as never
/** The brand of {@link ProviderDefinitionError}. */
export const PROVIDER_DEFINITION_ERROR_BRAND: unique symbol = Symbol.for(
  'capsule.provider-definition-error',
) as never

/** Whether `value` carries `brand`: an object, of any copy of the class that set it. */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && brand in value
}
