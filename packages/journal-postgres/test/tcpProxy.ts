import net from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 in front of the test server: what a network path to PostgreSQL is, so a test
 * can cut it (the server "stops" for the journal) and count what the journal sends.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number }
  readonly #sockets = new Set<net.Socket>()
  #server: net.Server | undefined
  #port = 0
  /** Bytes the journal sent to the server so far. */
  bytesFromClient = 0

  constructor(target: { host: string; port: number }) {
    this.#target = target
  }

  get port(): number {
    return this.#port
  }

  /** Listens (again, on the same port once it had one). */
  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target.port, this.#target.host)
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket)
        socket.on('close', () => this.#sockets.delete(socket))
        socket.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.on('data', (chunk: Buffer) => {
        this.bytesFromClient += chunk.length
      })
      client.pipe(upstream)
      upstream.pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => resolve())
    })
    this.#port = (server.address() as net.AddressInfo).port
    this.#server = server
  }

  /** Cuts every connection and stops listening: to the journal, the server is gone. */
  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    const server = this.#server
    this.#server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
