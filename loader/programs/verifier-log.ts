/**
 * Reading the verifier's log: which instruction it stopped at, its error
 * message, and the "processed N insns" summary.
 */

/** What a verifier log says about a failed (or successful) load. */
export interface VerifierLogSummary {
  /** Index of the last instruction the verifier printed before stopping (the failing one on error). */
  readonly insnIndex: number | undefined;
  /** The verifier's error message (lines after the last instruction line, before the summary). */
  readonly reason: string;
  /** `processed N insns` — instructions the verifier walked. */
  readonly processedInsns: number | undefined;
  /** `(limit L)` — the complexity limit the kernel applied. */
  readonly insnLimit: number | undefined;
}

// "12: (85) call bpf_map_lookup_elem#1" or "12: (b7) r0 = 0  ; R0_w=0"
const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;
// State-only lines "12: R1=ctx() R10=fp0" are not instructions but also carry the index.
const STATE_LINE = /^(\d+): R\d/;
const PROCESSED = /^processed (\d+) insns \(limit (\d+)\)/;

/** Parses a level-1 (or higher) verifier log. */
export function parseVerifierLog(log: string): VerifierLogSummary {
  const lines = log.split('\n').map((l) => l.trimEnd());
  let insnIndex: number | undefined;
  let lastInsnLine = -1;
  let processedInsns: number | undefined;
  let insnLimit: number | undefined;
  let summaryLine = lines.length;
  lines.forEach((line, i) => {
    const m = INSN_LINE.exec(line);
    if (m) {
      insnIndex = Number(m[1]);
      lastInsnLine = i;
      return;
    }
    const p = PROCESSED.exec(line);
    if (p) {
      processedInsns = Number(p[1]);
      insnLimit = Number(p[2]);
      summaryLine = Math.min(summaryLine, i);
    }
  });
  // The reason: non-empty lines after the last instruction (or from the top if
  // none) up to the summary, skipping register-state and source-comment lines.
  const tail = lines
    .slice(lastInsnLine + 1, summaryLine)
    .filter((l) => l.trim() !== '' && !l.startsWith(';') && !STATE_LINE.test(l) && !l.startsWith('verification time'));
  const reason = tail.join('\n').trim() || (lines.find((l) => l.trim() !== '' && !INSN_LINE.test(l) && !PROCESSED.test(l)) ?? '').trim();
  return { insnIndex, reason, processedInsns, insnLimit };
}
