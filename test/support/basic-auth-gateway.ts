/**
 * An HTTP gateway that demands Basic credentials and forwards what passes to a real server, the way a hosted schema
 * registry (or a proxy in front of one) checks an API key. Counts what it let through and what it refused.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface BasicAuthGateway {
  /** `target` as seen through the gateway (same path). */
  readonly url: string
  readonly passed: () => number
  readonly refused: () => number
  readonly close: () => Promise<void>
}

export async function startBasicAuthGateway(
  target: string,
  username: string,
  password: string,
): Promise<BasicAuthGateway> {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  const origin = new URL(target).origin
  let passed = 0
  let refused = 0
  const server: Server = createServer((request, response) => {
    if (request.headers.authorization !== expected) {
      refused++
      response.writeHead(401, { 'www-authenticate': 'Basic realm="registry"', 'content-type': 'application/json' })
      response.end(JSON.stringify({ error_code: 401, message: 'Unauthorized' }))
      return
    }
    passed++
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks)
      const contentType = request.headers['content-type']
      fetch(`${origin}${request.url ?? '/'}`, {
        method: request.method ?? 'GET',
        ...(contentType === undefined ? {} : { headers: { 'content-type': contentType } }),
        ...(body.length === 0 ? {} : { body }),
      }).then(
        async (answer) => {
          response.writeHead(answer.status, {
            'content-type': answer.headers.get('content-type') ?? 'application/json',
          })
          response.end(Buffer.from(await answer.arrayBuffer()))
        },
        (error: unknown) => {
          response.writeHead(502)
          response.end(String(error))
        },
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${new URL(target).pathname}`,
    passed: () => passed,
    refused: () => refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
