import { describe, expect, it } from 'vitest'
import type { Kafka } from 'kafkajs'
import { GroupOffsets, readingsLag } from '../../../src/stream/group-offsets.js'

const marks = (low: bigint, high: bigint) => ({ low, high })

describe('readingsLag', () => {
  it('counts from the offset after the last processed batch when there is one', () => {
    expect(readingsLag(40n, 10n, marks(0n, 100n), 'earliest')).toBe(60)
  })

  it("counts from the group's commit before this instance processed a batch", () => {
    expect(readingsLag(undefined, 10n, marks(0n, 100n), 'latest')).toBe(90)
  })

  it('counts from where a group with no commit starts: the oldest reading, or unknown for only new ones', () => {
    expect(readingsLag(undefined, undefined, marks(25n, 100n), 'earliest')).toBe(75)
    expect(readingsLag(undefined, undefined, marks(25n, 100n), 'latest')).toBeUndefined()
  })

  it('does not count readings retention deleted before they were read', () => {
    expect(readingsLag(10n, undefined, marks(50n, 100n), 'earliest')).toBe(50)
  })

  it('is 0 when everything is processed, never negative', () => {
    expect(readingsLag(100n, undefined, marks(0n, 100n), 'earliest')).toBe(0)
    expect(readingsLag(120n, undefined, marks(0n, 100n), 'earliest')).toBe(0)
  })
})

/** A Kafka whose admin clients answer as told; counts the clients made and disconnected. */
function fakeKafka(answers: { fetchTopicOffsets: () => Promise<unknown>; connect?: () => Promise<void> }) {
  const counts = { made: 0, disconnected: 0 }
  const committed = [{ topic: 't', partitions: [{ partition: 0, offset: '7', metadata: 'm' }] }]
  const kafka = {
    admin: () => {
      counts.made++
      return {
        connect: answers.connect ?? (() => Promise.resolve()),
        disconnect: () => Promise.resolve(void counts.disconnected++),
        fetchOffsets: () => new Promise((resolve) => setTimeout(() => resolve(committed), 30)),
        fetchTopicOffsets: answers.fetchTopicOffsets,
      }
    },
  } as unknown as Kafka
  return { kafka, counts }
}

describe('GroupOffsets', () => {
  it('keeps the shared client while another request is in flight on it, and drops it once alone after a failure', async () => {
    const { kafka, counts } = fakeKafka({ fetchTopicOffsets: () => Promise.reject(new Error('LEADER_NOT_AVAILABLE')) })
    const offsets = new GroupOffsets(kafka, 'g', 't')
    const progress = offsets.committed() // the stored-progress check, in flight when the lag refresh fails
    await expect(offsets.watermarks()).rejects.toThrow('LEADER_NOT_AVAILABLE')
    expect(counts.disconnected).toBe(0)
    expect((await progress).get(0)).toEqual({ offset: 7n, metadata: 'm' })
    await expect(offsets.watermarks()).rejects.toThrow('LEADER_NOT_AVAILABLE') // alone now: the client goes
    expect(counts.disconnected).toBe(1)
    await offsets.committed()
    expect(counts.made).toBe(2) // the next request connected afresh
    await offsets.close()
  })

  it('disconnects a client whose connect failed, and connects again on the next request', async () => {
    let refuse = true
    const { kafka, counts } = fakeKafka({
      fetchTopicOffsets: () => Promise.resolve([{ partition: 0, offset: '9', high: '9', low: '2' }]),
      connect: () => (refuse ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve()),
    })
    const offsets = new GroupOffsets(kafka, 'g', 't')
    await expect(offsets.watermarks()).rejects.toThrow('ECONNREFUSED')
    expect(counts.disconnected).toBe(1)
    refuse = false
    expect((await offsets.watermarks()).get(0)).toEqual({ low: 2n, high: 9n })
    expect(counts.made).toBe(2)
    await offsets.close()
  })
})
