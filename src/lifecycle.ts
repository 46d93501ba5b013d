/**
 * Explicit service lifecycle: starting → running → draining → stopped, or → failed from starting/running/draining.
 * Readiness is `running`; liveness is anything but `failed`. Illegal transitions throw: they are bugs.
 */
export const LIFECYCLE_STATES = ['starting', 'running', 'draining', 'stopped', 'failed'] as const
export type LifecycleState = (typeof LIFECYCLE_STATES)[number]

const ALLOWED: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  starting: ['running', 'draining', 'failed'],
  running: ['draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
}

export type TransitionListener = (from: LifecycleState, to: LifecycleState, reason: string | undefined) => void

export class Lifecycle {
  #state: LifecycleState = 'starting'
  readonly #listeners: TransitionListener[] = []

  get state(): LifecycleState {
    return this.#state
  }

  get isReady(): boolean {
    return this.#state === 'running'
  }

  get isAlive(): boolean {
    return this.#state !== 'failed'
  }

  onTransition(listener: TransitionListener): void {
    this.#listeners.push(listener)
  }

  canMoveTo(to: LifecycleState): boolean {
    return ALLOWED[this.#state].includes(to)
  }

  moveTo(to: LifecycleState, reason?: string): void {
    if (!this.canMoveTo(to)) throw new Error(`illegal lifecycle transition ${this.#state} → ${to}`)
    const from = this.#state
    this.#state = to
    for (const listener of this.#listeners) listener(from, to, reason)
  }
}
