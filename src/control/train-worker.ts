/**
 * Worker-thread entry of model training (protocol in worker-thread.ts): one TrainTask in, progress as
 * {fraction, stage}, the TrainOutcome out. Started by train-in-worker.ts from the compiled file.
 */
import { runTrainTask, type TrainTask } from './training-task.js'
import { serveWorker } from './worker-thread.js'

export interface TrainProgress {
  fraction: number
  stage: string
}

await serveWorker((task: TrainTask, progress: (p: TrainProgress) => void) =>
  runTrainTask(task, (fraction, stage) => progress({ fraction, stage })),
)
