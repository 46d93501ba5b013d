/**
 * A small deterministic window scorer for stream tests that must not depend on the detection core's numbers:
 * score = |last value of the first variable − its window mean|; anomalous above the state's threshold.
 * It implements the same LoadedModel contract the real loader produces.
 */
import type { AnomalyValue } from '../../src/domain/types.js'
import { layoutKeyOf, type LoadedModel } from '../../src/stream/model-runtime.js'

export interface WindowMeanState {
  variables: string[]
  slidingWindow: number
  threshold: number
}

export function windowMeanModel(stateJson: string, identity: { modelId: string; version: number }): LoadedModel {
  const state = JSON.parse(stateJson) as WindowMeanState
  return {
    ...identity,
    variables: state.variables,
    slidingWindow: state.slidingWindow,
    fillNAMethod: 'Previous',
    paddingValue: 0,
    trainingTail: Array.from({ length: state.slidingWindow }, () => new Float64Array(state.variables.length)),
    layoutKey: layoutKeyOf(state.variables),
    scoreLast(window): AnomalyValue {
      const column = window.map((row) => row[0] as number)
      const mean = column.reduce((s, v) => s + v, 0) / column.length
      const score = Math.abs((column[column.length - 1] as number) - mean)
      const isAnomaly = score > state.threshold
      return {
        isAnomaly,
        score,
        severity: isAnomaly ? 1 - state.threshold / score : 0,
        interpretation: isAnomaly
          ? [{ variable: state.variables[0] ?? '', contributionScore: 1, correlationChanges: { changedVariables: [] } }]
          : [],
      }
    },
  }
}
