/** Secrets kept out of messages and logs. */

/** The URL (or a message holding URLs) with SAS signatures hidden; the rest of a token says what it allows. */
export function redactSas(text: string): string {
  return text.replace(/([?&]sig=)[^&#\s]*/gi, '$1…')
}

/** An http(s) URL without its query and fragment (where a SAS token and other secrets travel); other text as it is. */
export function withoutQuery(text: string): string {
  if (!/^https?:\/\//i.test(text)) return text
  try {
    const url = new URL(text)
    return `${url.origin}${url.pathname}`
  } catch {
    return redactSas(text)
  }
}

/** A URL without its password or query (ioredis takes ?password=), for messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    parsed.search = ''
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}
