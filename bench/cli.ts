/**
 * Command-line scaffolding shared by the benchmarks' entry points (bench/*.ts):
 * reading `--name value` options, writing a report as `<name>.json|md|svg`,
 * and running `main` with a one-line failure report and exit status 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The value after `--name` on the command line, if given; a missing value is an error. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

/** `--name` as an integer in 1..max, or `fallback` when absent. */
export function positiveInt(name: string, fallback: number, max: number): number {
  const text = arg(name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} ${text}: want an integer 1..${max}`);
  return v;
}

/** Writes `report` to `out/<name>.json` with its Markdown and SVG renderings beside it, and prints the Markdown. */
export function writeResults(out: string, name: string, report: unknown, markdown: string, svg: string): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, `${name}.md`), markdown);
  writeFileSync(join(out, `${name}.svg`), svg);
  process.stdout.write(markdown);
  process.stdout.write(`\nresults: ${join(out, `${name}.json`)}, ${name}.md, ${name}.svg\n`);
}

/** Runs `main`; on failure prints `bench:<name>: <stack>` to stderr (the quick-bench tests look for that prefix) and exits 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((e) => {
    process.stderr.write(`bench:${name}: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
