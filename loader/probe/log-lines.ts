/**
 * Reading one line out of a verifier log still in its byte buffer, without
 * decoding the whole log. Used by the prober on this thread (raw.ts) and, as
 * source text, by the helper worker threads (workers.ts builds the worker's code
 * from these functions' `toString()`), so they stay plain self-contained
 * functions: no imports, no nested functions, nothing from the module scope.
 */

/** The line around byte `at` (up to the next newline or the log's NUL end). */
export function logLineAt(buf: Buffer, at: number): string {
  let end = buf.indexOf(10, at);
  const nul = buf.indexOf(0, at);
  if (end < 0 || (nul >= 0 && nul < end)) end = nul < 0 ? buf.length : nul;
  const start = buf.lastIndexOf(10, at) + 1;
  return buf.toString('utf8', start, end);
}

/**
 * The last log line that is not the verifier's statistics ("processed …",
 * "verification time …"), found by scanning back from the end.
 */
export function lastLogLine(buf: Buffer): string {
  let end = buf.indexOf(0);
  if (end < 0) end = buf.length;
  while (end > 0) {
    while (end > 0 && (buf[end - 1] === 10 || buf[end - 1] === 32)) end--;
    if (end === 0) break;
    const start = buf.lastIndexOf(10, end - 1) + 1;
    const line = buf.toString('utf8', start, end).trim();
    if (line && !line.startsWith('processed ') && !line.startsWith('verification time')) return line;
    end = start;
  }
  return '';
}
