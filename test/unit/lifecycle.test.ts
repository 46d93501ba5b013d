import { describe, expect, it } from 'vitest'
import { Lifecycle } from '../../src/lifecycle.js'

describe('Lifecycle', () => {
  it('walks starting → running → draining → stopped and reports readiness only when running', () => {
    const lifecycle = new Lifecycle()
    const seen: string[] = []
    lifecycle.onTransition((from, to, reason) => seen.push(`${from}>${to}:${reason ?? ''}`))
    expect(lifecycle.state).toBe('starting')
    expect(lifecycle.isReady).toBe(false)
    lifecycle.moveTo('running', 'ok')
    expect(lifecycle.isReady).toBe(true)
    lifecycle.moveTo('draining', 'SIGTERM')
    expect(lifecycle.isReady).toBe(false)
    expect(lifecycle.isAlive).toBe(true)
    lifecycle.moveTo('stopped')
    expect(seen).toEqual(['starting>running:ok', 'running>draining:SIGTERM', 'draining>stopped:'])
  })

  it('refuses illegal transitions', () => {
    const lifecycle = new Lifecycle()
    expect(() => lifecycle.moveTo('stopped')).toThrow('illegal lifecycle transition starting → stopped')
    lifecycle.moveTo('failed', 'boom')
    expect(lifecycle.isAlive).toBe(false)
    expect(lifecycle.canMoveTo('running')).toBe(false)
    expect(() => lifecycle.moveTo('draining')).toThrow()
  })
})
