import type { DeleteOutcome, ModelStore } from '../../src/state/model-store.js'

/** Deletes a model the way state/model-deletion.ts does, without the bindings check: under a delete claim. */
export async function deleteUnderClaim(store: ModelStore, modelId: string): Promise<DeleteOutcome> {
  const token = await store.claim(modelId, 'delete', 10_000)
  if (token === undefined) throw new Error(`model ${modelId} is already claimed for deletion`)
  try {
    return await store.deleteModel(modelId, token)
  } finally {
    await store.releaseClaim(modelId, 'delete', token)
  }
}
