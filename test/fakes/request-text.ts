// What the fakes record of a request body and path: never throwing on whatever a client sent.

/** The body parsed as JSON when it is JSON, else the text (undefined when empty). */
export function parseForRecord(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The path segment decoded, or as sent when it is not valid percent-encoding. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
