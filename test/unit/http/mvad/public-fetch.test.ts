import { createServer } from 'node:http'
import type { LookupAddress } from 'node:dns'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NOT_PUBLIC, isPublicAddress, publicGet, publicOnlyLookup } from '../../../../src/http/mvad/public-fetch.js'

type Answer = { error: NodeJS.ErrnoException | null; addresses: LookupAddress[] }
/** A resolver answering from a table, counting its calls. */
function stubResolver(table: Record<string, string[]>) {
  const calls: string[] = []
  const resolve = (hostname: string, _options: unknown, callback: (e: Answer['error'], a: LookupAddress[]) => void) => {
    calls.push(hostname)
    const addresses = (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    setImmediate(() =>
      callback(addresses.length === 0 ? Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }) : null, addresses),
    )
  }
  return { resolve, calls }
}

describe('public-only fetching', () => {
  it('judges IPv6 forms that carry an IPv4 address by that address', () => {
    for (const address of [
      '8.8.8.8',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
      '::ffff:808:808',
      '64:ff9b::808:808',
      '2002:808:808::1',
    ]) {
      expect(isPublicAddress(address), address).toBe(true)
    }
    for (const address of [
      '::ffff:7f00:1', // how the URL parser writes [::ffff:127.0.0.1]
      '::ffff:a9fe:a9fe', // 169.254.169.254, cloud metadata
      '::7f00:1',
      '::127.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b::10.0.0.1',
      '2002:7f00:1::',
      '2002:c0a8:101::1',
      '2001:db8::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
      'FE80::1%eth0',
      '1::2::3',
      'g::1',
    ]) {
      expect(isPublicAddress(address), address).toBe(false)
    }
  })

  it('the lookup refuses a name with any non-public address, and answers as the socket asks', async () => {
    const { resolve } = stubResolver({ mixed: ['8.8.8.8', '10.0.0.1'], public: ['8.8.8.8', '2606:4700::1111'] })
    const lookup = publicOnlyLookup(resolve)
    const ask = (host: string, all: boolean) =>
      new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((done) =>
        lookup(host, { all }, (error, address) => done({ error, address })),
      )
    expect((await ask('mixed', true)).error?.code).toBe(NOT_PUBLIC)
    expect((await ask('public', true)).address).toEqual([
      { address: '8.8.8.8', family: 4 },
      { address: '2606:4700::1111', family: 6 },
    ])
    expect((await ask('public', false)).address).toBe('8.8.8.8')
    expect((await ask('nowhere', false)).error?.code).toBe('ENOTFOUND')
  })

  describe('against a local server', () => {
    const server = createServer((request, response) => {
      if (request.url === '/hop')
        response.writeHead(302, { location: 'http://data.test:PORT/data'.replace('PORT', String(port)) }).end()
      else response.end('ok')
    })
    let port = 0
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      port = (server.address() as AddressInfo).port
    })
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const options = (allowPrivate: boolean, resolve: ReturnType<typeof stubResolver>['resolve']) => ({
      signal: AbortSignal.timeout(5_000),
      allowPrivate,
      maxRedirects: 5,
      resolve,
    })

    it('connects to the address its own lookup checked: one resolution, no second one to rebind', async () => {
      const stub = stubResolver({ 'data.test': ['127.0.0.1'] })
      const refused = await publicGet(new URL(`http://data.test:${port}/data`), options(false, stub.resolve))
      expect(refused).toMatchObject({ kind: 'refused', reason: expect.stringContaining('127.0.0.1') as string })
      expect(stub.calls).toEqual(['data.test'])
      // Allowed, the same name reaches the server through that resolver's answer (nothing else resolves it).
      const allowed = await publicGet(new URL(`http://data.test:${port}/data`), options(true, stub.resolve))
      expect(allowed.kind).toBe('response')
      if (allowed.kind === 'response') allowed.response.resume()
    })

    it('checks IP literals before connecting, and every redirect hop', async () => {
      const stub = stubResolver({ 'data.test': ['127.0.0.1'] })
      const literal = await publicGet(new URL(`http://[::ffff:127.0.0.1]:${port}/data`), options(false, stub.resolve))
      expect(literal).toMatchObject({ kind: 'refused' })
      expect(stub.calls).toEqual([])
      const hop = await publicGet(new URL(`http://127.0.0.1:${port}/hop`), options(true, stub.resolve))
      expect(hop).toMatchObject({ kind: 'response', url: new URL(`http://data.test:${port}/data`) })
      if (hop.kind === 'response') hop.response.resume()
    })
  })
})
