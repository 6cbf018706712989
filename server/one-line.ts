// Text we did not write (a receiver's or the network's error, a field name a client sent) shown where
// openapi.yaml declares one line of bounded length: a log row's `error`, a 422's messages.

/** `text` on one line (CR, LF and NUL become spaces), cut to `maxLength` characters with an ellipsis. */
export function oneLine(text: string, maxLength: number): string {
  const line = text.replace(/[\r\n\x00]/g, " ");
  return line.length <= maxLength ? line : `${line.slice(0, maxLength - 1)}…`;
}
