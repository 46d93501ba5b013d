/** The detection core's public API (pure: no I/O). See detector.ts for the method, scorer.ts for the output. */
export { DEFAULT_MODEL_PARAMS, resolveParams, type ModelParams } from './params.js'
export {
  WEIGHT_PARAMS,
  calibrate,
  correlationMatrix,
  fitModel,
  fitWeights,
  type FitOptions,
  type FittedWeights,
} from './fit.js'
export { createScorer, type Scorer } from './scorer.js'
export { assertTrainingInput, minTrainingRows } from './training-input.js'
export {
  loadModelState,
  MODEL_KIND,
  MODEL_STATE_VERSION,
  type ModelPayload,
  type ModelState,
  type TrainingDiagnostics,
} from './state.js'
export { calibrateThreshold, potThreshold, quantile, type ThresholdFit } from './threshold.js'
export {
  UNIVARIATE_METHODS,
  combineWithUnivariate,
  fitUnivariate,
  univariateFlags,
  type UnivariateMethod,
  type UnivariateParams,
  type UnivariateState,
} from './univariate.js'
export { DEFAULT_TUNE_GRID, tune, type TuneCandidate, type TuneResult } from './tune.js'
