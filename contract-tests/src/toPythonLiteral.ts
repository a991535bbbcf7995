/**
 * A JavaScript value written as a Python expression that evaluates to the same value: strings, numbers
 * (integers stay `int`, non-finite numbers become `float('nan')`/`float('inf')`), bigints, booleans,
 * `null`/`undefined` (None), arrays (list), plain objects (dict) and Uint8Array (bytes). Anything else
 * (functions, symbols, class instances, cycles) throws a TypeError.
 */
export function toPythonLiteral(value: unknown): string {
  return literal(value, new Set())
}

function literal(value: unknown, seen: Set<object>): string {
  if (value === null || value === undefined) return 'None'
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False'
    case 'string':
      return stringLiteral(value)
    case 'bigint':
      return value.toString()
    case 'number':
      if (Number.isNaN(value)) return "float('nan')"
      if (!Number.isFinite(value)) return value > 0 ? "float('inf')" : "-float('inf')"
      // 1e21 is a float in JavaScript's spelling and Python's alike; -0 keeps its sign as a float.
      if (Object.is(value, -0)) return '-0.0'
      return String(value)
    case 'object':
      break
    default:
      throw new TypeError(`toPythonLiteral cannot write a ${typeof value}`)
  }
  const object = value as object
  if (seen.has(object)) throw new TypeError('toPythonLiteral cannot write a cyclic value')
  if (object instanceof Uint8Array) return bytesLiteral(object)
  seen.add(object)
  try {
    if (Array.isArray(object)) return `[${object.map((item) => literal(item, seen)).join(', ')}]`
    const prototype = Object.getPrototypeOf(object)
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(
        `toPythonLiteral writes plain objects only (got ${object.constructor?.name ?? 'an object'})`,
      )
    }
    const entries = Object.entries(object).map(
      ([key, item]) => `${stringLiteral(key)}: ${literal(item, seen)}`,
    )
    return `{${entries.join(', ')}}`
  } finally {
    seen.delete(object)
  }
}

function stringLiteral(text: string): string {
  let out = "'"
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (char === '\\') out += '\\\\'
    else if (char === "'") out += "\\'"
    else if (char === '\n') out += '\\n'
    else if (char === '\r') out += '\\r'
    else if (char === '\t') out += '\\t'
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    // Lone surrogates and line separators would not survive as source text: escape them.
    else if ((code >= 0xd800 && code <= 0xdfff) || code === 0x2028 || code === 0x2029)
      out += `\\u${code.toString(16).padStart(4, '0')}`
    else out += char
  }
  return `${out}'`
}

function bytesLiteral(bytes: Uint8Array): string {
  let out = "b'"
  for (const byte of bytes) {
    if (byte === 0x5c) out += '\\\\'
    else if (byte === 0x27) out += "\\'"
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte)
    else out += `\\x${byte.toString(16).padStart(2, '0')}`
  }
  return `${out}'`
}
