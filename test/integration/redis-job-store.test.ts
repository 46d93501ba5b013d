import { RedisJobStore } from '../../src/state/redis-job-store.js'
import { jobStoreContract } from '../contracts/job-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('js')
jobStoreContract('redis', () => ({ store: new RedisJobStore(redis, keys), jobId: () => nextId('job-') }))
