/** Worker-thread entry of detect-batch scoring (score-task.ts; protocol in worker-thread.ts). */
import { runScoreTask } from './score-task.js'
import { serveWorker } from './worker-thread.js'

await serveWorker(runScoreTask)
