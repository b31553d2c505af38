/** Summaries of latency samples for the services benchmark. */

/** Percentiles and counts of one variant at one N, in microseconds. */
export interface LatencySummary {
  readonly samples: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  readonly minUs: number;
}

/** The `q`-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Median of unsorted values. */
export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** Summary of latencies given in nanoseconds. */
export function summarize(latenciesNs: readonly number[]): LatencySummary {
  const us = latenciesNs.map((n) => n / 1000).sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    samples: us.length,
    p50Us: round(quantile(us, 0.5)),
    p90Us: round(quantile(us, 0.9)),
    p99Us: round(quantile(us, 0.99)),
    meanUs: round(us.reduce((a, b) => a + b, 0) / Math.max(1, us.length)),
    minUs: round(us[0] ?? Number.NaN),
  };
}
