import { Matrix, solve } from 'ml-matrix'
import { describe, expect, it } from 'vitest'
import { forecastInflations } from '../../../src/model/leverage.js'

/** Ridge Gram matrix XᵀX + λI and Xᵀy of a one-variable autoregression with `lags` lags and a bias. */
function ridgeSystem(z: number[], lags: number, lambda: number, skip = -1): { gram: Matrix; rhs: Matrix } {
  const f = lags + 1
  const gram = Matrix.eye(f, f).mul(lambda)
  const rhs = Matrix.zeros(f, 1)
  for (let t = lags; t < z.length; t++) {
    if (t === skip) continue
    const x = [...Array.from({ length: lags }, (_, l) => z[t - l - 1] as number), 1]
    for (let a = 0; a < f; a++) {
      for (let b = 0; b < f; b++) gram.set(a, b, gram.get(a, b) + (x[a] as number) * (x[b] as number))
      rhs.set(a, 0, rhs.get(a, 0) + (x[a] as number) * (z[t] as number))
    }
  }
  return { gram, rhs }
}

const forecastAt = (beta: Matrix, z: number[], t: number, lags: number): number => {
  let sum = beta.get(lags, 0)
  for (let l = 0; l < lags; l++) sum += beta.get(l, 0) * (z[t - l - 1] as number)
  return sum
}

describe('forecastInflations', () => {
  it('turns each in-sample ridge residual into the residual of a fit that left its row out (PRESS)', () => {
    const z = [0.3, -1.2, 0.8, 2.1, -0.4, 0.0, 1.5, -2.2, 0.9, 0.1, -0.7, 1.1]
    const lags = 2
    const lambda = 0.5
    const { gram, rhs } = ridgeSystem(z, lags, lambda)
    const beta = solve(gram, rhs)
    const inflation = forecastInflations(
      gram,
      z.map((v) => Float64Array.of(v)),
      lags,
    )
    expect([inflation[0], inflation[1]]).toEqual([1, 1]) // no forecast for the first `lags` rows
    for (let t = lags; t < z.length; t++) {
      const inSample = (z[t] as number) - forecastAt(beta, z, t, lags)
      const left = ridgeSystem(z, lags, lambda, t)
      const leftOut = (z[t] as number) - forecastAt(solve(left.gram, left.rhs), z, t, lags)
      expect((inflation[t] as number) * inSample).toBeCloseTo(leftOut, 10)
      expect(inflation[t]).toBeGreaterThan(1)
    }
  })

  it('is at most tenfold, and leaves residuals alone when the Gram matrix is singular (ridge 0, a constant variable)', () => {
    const z = [1, 1, 1, 1, 1, 1]
    const { gram } = ridgeSystem(z, 1, 0) // x = [1, 1] on every row: rank 1
    const inflation = forecastInflations(
      gram,
      z.map((v) => Float64Array.of(v)),
      1,
    )
    expect([...inflation]).toEqual([1, 1, 1, 1, 1, 1])
    const spike = [0, 0, 0, 0, 0, 0, 0, 0, 50, 0]
    const system = ridgeSystem(spike, 1, 1e-9)
    const capped = forecastInflations(
      system.gram,
      spike.map((v) => Float64Array.of(v)),
      1,
    )
    expect(Math.max(...capped)).toBeCloseTo(10, 6) // the row after the spike alone decides the lag weight
  })
})
