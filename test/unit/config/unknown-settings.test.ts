import { describe, expect, it } from 'vitest'
import { unknownSettings } from '../../../src/config/unknown-settings.js'

describe('unknownSettings', () => {
  it('names MVAD_* variables it does not read, with the setting they were probably meant to be', () => {
    expect(
      unknownSettings({
        MVAD_TOPIC_READING: 'x', // a letter short
        MVAD_HTTP_PORT: '1',
        MVAD_KAFKA_PORT: '29092', // infra.sh's, not the service's
        MVAD_SOMETHING_ELSE: '1',
        MVAD_HTP_PORT: '8081', // a misspelt port setting is still reported
        KAFKA_BROKERZ: 'x', // not ours to judge
        MVAD_STREAM_SERVICE_HOST: '10.0.0.1', // Kubernetes service links of a Service named mvad-stream
        MVAD_STREAM_SERVICE_PORT_HTTP: '8080',
        MVAD_STREAM_PORT: 'tcp://10.0.0.1:8080',
        MVAD_STREAM_PORT_8080_TCP_ADDR: '10.0.0.1',
      }),
    ).toEqual([
      { name: 'MVAD_HTP_PORT', closest: 'MVAD_HTTP_PORT' },
      { name: 'MVAD_SOMETHING_ELSE' },
      { name: 'MVAD_TOPIC_READING', closest: 'MVAD_TOPIC_READINGS' },
    ])
  })
})
