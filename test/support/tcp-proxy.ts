/** A TCP proxy to a real server that a test can take away and bring back (an outage without touching the server). */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export class TcpProxy {
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()
  #port = 0

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  get port(): number {
    return this.#port
  }

  /** Listens on 127.0.0.1 (on the same port as before after a `stop`); returns the port. */
  async start(): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost)
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket)
        socket.on('close', () => this.#sockets.delete(socket))
        socket.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => resolve())
    })
    this.#server = server
    this.#port = (server.address() as AddressInfo).port
    return this.#port
  }

  /** The server goes away: open connections are cut, new ones refused. */
  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
