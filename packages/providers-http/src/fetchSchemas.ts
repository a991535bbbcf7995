import { binary } from '@capsule/provider-sdk'
import { z } from 'zod'

/**
 * Arguments of `http.fetch`, in Python parameter order:
 * `fetch(url, method='GET', headers=None, body=None, json=None, timeout=None)`.
 * `timeout` is in seconds, like httpx; it can only shorten the provider's own deadline.
 */
export const fetchInputSchema = z.object({
  url: z.string().max(65_536).describe('Absolute http(s) URL.'),
  method: z.string().default('GET').describe('HTTP method.'),
  headers: z.record(z.string(), z.string()).nullable().optional().describe('Request headers.'),
  body: z
    .union([z.string(), binary()])
    .nullable()
    .optional()
    .describe('Request body: str (sent as UTF-8) or bytes.'),
  json: z.any().optional().describe('A value sent as a JSON body (sets Content-Type: application/json).'),
  timeout: z
    .number()
    .positive()
    .nullable()
    .optional()
    .describe('Seconds before giving up (at most the host limit).'),
})

/** Arguments of `http.fetch` after validation. */
export type FetchInput = z.output<typeof fetchInputSchema>

/**
 * Result of `http.fetch`; the worker wraps it in an httpx-like Response (`pythonResult:
 * 'http_response'`). `body` is decoded (gzip, deflate, br removed) while `headers` are as received.
 */
export const fetchOutputSchema = z.object({
  url: z.string(),
  status: z.number().int(),
  reason: z.string(),
  headers: z.array(z.tuple([z.string(), z.string()])),
  body: binary(),
})

/** Result of `http.fetch`. */
export type FetchOutput = z.output<typeof fetchOutputSchema>
