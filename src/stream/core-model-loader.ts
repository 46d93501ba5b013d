/**
 * Adapts the detection core (src/model) to what the stream needs: stored model JSON → LoadedModel. The scoring
 * function is the core's own detect-last, so the stream and `mvad detect` share every numeric step.
 * Accepts the `mvad train` model file (envelope `{format: "mvad-stream/model-file", modelInfo, state}`, whose
 * modelInfo.alignPolicy says how to fill gaps) or a bare model state (MVAD default alignment).
 */
import { DEFAULT_ALIGN_POLICY, type AlignPolicy } from '../domain/types.js'
import { createScorer, loadModelState } from '../model/index.js'
import { layoutKeyOf, type LoadedModel, type ModelLoader } from './model-runtime.js'

const MODEL_FILE_FORMAT = 'mvad-stream/model-file'

interface Envelope {
  format?: unknown
  state?: unknown
  modelInfo?: { alignPolicy?: Partial<AlignPolicy> }
}

export const loadCoreModel: ModelLoader = (json, identity): LoadedModel => {
  const parsed = JSON.parse(json) as Envelope
  const isEnvelope = parsed.format === MODEL_FILE_FORMAT
  const state = loadModelState(isEnvelope ? parsed.state : parsed)
  const scorer = createScorer(state)
  const alignPolicy = { ...DEFAULT_ALIGN_POLICY, ...((isEnvelope ? parsed.modelInfo?.alignPolicy : undefined) ?? {}) }
  return {
    ...identity,
    variables: scorer.variables,
    slidingWindow: scorer.slidingWindow,
    fillNAMethod: alignPolicy.fillNAMethod,
    paddingValue: alignPolicy.paddingValue,
    trainingTail: state.payload.trainingTail.map((row) => Float64Array.from(row)),
    layoutKey: layoutKeyOf(scorer.variables),
    scoreLast: (window, topContributorCount) => scorer.scoreLast(window, topContributorCount),
  }
}
