/**
 * A small metrics registry rendered in the Prometheus text exposition format
 * (version 0.0.4): counters, gauges and histograms with labels. Gauges may be
 * read at scrape time (`collect`), so fill levels are never stale.
 */

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  render(out: string[]): void;
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** A monotonically increasing count, per label set. */
export class Counter implements Family {
  readonly kind = 'counter';
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, private readonly collect?: () => ReadonlyArray<[Labels, number]>) {}
  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    this.series(labels).inc(by);
  }
  /** The series of `labels`, to increment on a hot path without formatting labels each time. */
  series(labels: Labels = {}): { inc(by?: number): void } {
    const id = labelText(labels);
    let s = this.values.get(id);
    if (!s) this.values.set(id, (s = { labels, value: 0 }));
    const series = s;
    return {
      inc(by = 1) {
        series.value += by;
      },
    };
  }
  /** The current value of a series (0 if never incremented). */
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(out: string[]): void {
    if (this.collect) for (const [labels, value] of this.collect()) out.push(`${this.name}${labelText(labels)} ${num(value)}`);
    for (const s of this.values.values()) out.push(`${this.name}${labelText(s.labels)} ${num(s.value)}`);
  }
}

/** A value that goes up and down; set directly or read by `collect` at scrape time. */
export class Gauge implements Family {
  readonly kind = 'gauge';
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, private readonly collect?: () => ReadonlyArray<[Labels, number]>) {}
  /** Sets the series of `labels`. */
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelText(labels), { labels, value });
  }
  render(out: string[]): void {
    if (this.collect) for (const [labels, value] of this.collect()) out.push(`${this.name}${labelText(labels)} ${num(value)}`);
    for (const s of this.values.values()) out.push(`${this.name}${labelText(s.labels)} ${num(s.value)}`);
  }
}

/** A distribution over fixed upper bounds (`le`), with sum and count. */
export class Histogram implements Family {
  readonly kind = 'histogram';
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    for (let i = 1; i < buckets.length; i++)
      if (!(buckets[i]! > buckets[i - 1]!)) throw new RangeError(`histogram ${name}: buckets must increase (${buckets.join(', ')})`);
    this.counts = buckets.map(() => 0);
  }
  /** Records one observation. */
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }
  /** Observations so far. */
  get total(): number {
    return this.count;
  }
  render(out: string[]): void {
    this.buckets.forEach((le, i) => out.push(`${this.name}_bucket{le="${num(le)}"} ${this.counts[i]}`));
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    out.push(`${this.name}_sum ${num(this.sum)}`);
    out.push(`${this.name}_count ${this.count}`);
  }
}

/** Exponential bucket bounds: `start`, `start*factor`, … (`count` of them). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Number((start * factor ** i).toPrecision(6)));
}

/** A set of metric families rendered together. */
export class Registry {
  private readonly families: Family[] = [];

  /** Registers a counter (optionally read at scrape time from a count kept elsewhere). */
  counter(name: string, help: string, collect?: () => ReadonlyArray<[Labels, number]>): Counter {
    return this.add(new Counter(name, help, collect));
  }
  /** Registers a gauge (optionally computed at scrape time). */
  gauge(name: string, help: string, collect?: () => ReadonlyArray<[Labels, number]>): Gauge {
    return this.add(new Gauge(name, help, collect));
  }
  /** Registers a histogram. */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    for (const f of this.families) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      out.push(`# TYPE ${f.name} ${f.kind}`);
      f.render(out);
    }
    return `${out.join('\n')}\n`;
  }

  private add<F extends Family>(f: F): F {
    if (!NAME.test(f.name)) throw new RangeError(`metric name '${f.name}' is not a valid Prometheus name`);
    if (this.families.some((g) => g.name === f.name)) throw new RangeError(`metric '${f.name}' is registered twice`);
    this.families.push(f);
    return f;
  }
}
