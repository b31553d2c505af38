/**
 * Reproducers of the robustness audit for the CLI's error reporting: file
 * errors, errors thrown by a user's module (at top level, inside a program
 * body, non-Error values) and malformed exported specs each give one typed
 * line naming the file (and line), exit 1, no Node stack.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsbpfError } from '../../dsl/errors.js';
import { clip, formatCliError, moduleLoadError, noteUserModule, userFrame } from '../../cli/errors.js';
import { expectOneLineError, fixtures, root, tsbpf } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-robust-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hello = join(root, 'examples', 'hello.s');
const typedefCycle = join(fixtures, 'btf-typedef-cycle.btf');

describe('file errors are one line naming the file', () => {
  it('asm -o into a missing directory', () => {
    expectOneLineError(tsbpf(['asm', hello, '-o', '/nonexistent/x.o']), /cannot write object file \/nonexistent\/x\.o: directory \/nonexistent does not exist/);
  });
  it('asm --bin into a missing directory', () => {
    expectOneLineError(tsbpf(['asm', hello, '--bin', '/nonexistent/x']), /cannot write instruction file \/nonexistent\/x: directory \/nonexistent does not exist/);
  });
  it('asm of a missing source', () => {
    expectOneLineError(tsbpf(['asm', '/nonexistent.s']), /cannot read assembly source \/nonexistent\.s: no such file/);
  });
  it('build -o into a missing directory', () => {
    expectOneLineError(tsbpf(['build', join(root, 'examples', 'packet-counter.ts'), '-o', '/nonexistent/x.o'], dir), /\/nonexistent\/x\.o.*(no such file|does not exist)/);
  });
  it('btf dump of a missing file, of a directory, with a missing --base', () => {
    expectOneLineError(tsbpf(['btf', 'dump', '/nonexistent']), /cannot read BTF file \/nonexistent: no such file/);
    expectOneLineError(tsbpf(['btf', 'dump', dir]), new RegExp(`cannot read BTF file ${dir}: it is a directory`));
    expectOneLineError(tsbpf(['btf', 'dump', typedefCycle, '--base', '/nonexistent']), /cannot read base BTF file \/nonexistent: no such file/);
  });
});

describe("errors from the user's module name its file:line", () => {
  const build = (name: string) => tsbpf(['build', join(fixtures, name), '-o', join(dir, `${name}.o`)], fixtures);

  it('a throw at module top level (build-throws.ts)', () => {
    expectOneLineError(build('build-throws.ts'), /^tsbpf: cannot load .*build-throws\.ts \(build-throws\.ts:2:\d+\): user module exploded$/);
  });
  it('a TypeError inside a program body (build-throws-in-body.ts)', () => {
    expectOneLineError(build('build-throws-in-body.ts'), /^tsbpf: build-throws-in-body\.ts:4:\d+: TypeError: Cannot read properties of undefined \(reading 'foo'\)$/);
  });
  it('a non-Error throw (build-nonerror-throw.ts)', () => {
    expectOneLineError(build('build-nonerror-throw.ts'), /^tsbpf: p threw a non-Error value: "a string, not an Error" \(at .*build-nonerror-throw\.ts:2:\d+\)$/);
  });
  it('an exported spec with instructions: null is a validation error (build-badspec3.ts)', () => {
    expectOneLineError(build('build-badspec3.ts'), /programs\[0\] 'p': instructions must be an array of instructions, got null/);
  });
  it('the control: a DSL scope error keeps its file:line:col (build-scope-escape.ts)', () => {
    expectOneLineError(build('build-scope-escape.ts'), /build-scope-escape\.ts:8:\d+/);
  });
  it('no object file is left for a failed build', () => {
    expect(() => statSync(join(dir, 'build-throws-in-body.ts.o'))).toThrow();
  });
});

describe('formatCliError (in-process)', () => {
  it('typed errors print their message; fs errors name the call, path and cause', () => {
    expect(formatCliError(new TsbpfError('X', 'typed message'))).toBe('typed message');
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y'"), { code: 'ENOENT', syscall: 'open', path: '/x/y' });
    expect(formatCliError(enoent)).toBe('cannot open /x/y: no such file or directory (ENOENT)');
  });

  it('an Error with a frame in a user module is located there; others are one-line internal errors', () => {
    const file = join(fixtures, 'virtual-user-module.ts');
    noteUserModule(file);
    const e = new TypeError('boom');
    e.stack = `TypeError: boom\n    at helper (${root}/dsl/program/build.ts:10:5)\n    at body (file://${file}:12:34)\n    at run (node:internal/x:1:1)`;
    expect(userFrame(e.stack)).toMatch(/virtual-user-module\.ts:12:34$/);
    expect(formatCliError(e)).toMatch(/virtual-user-module\.ts:12:34: TypeError: boom$/);
    const internal = new RangeError('bad');
    internal.stack = `RangeError: bad\n    at f (${root}/dsl/x.ts:1:1)`;
    expect(formatCliError(internal)).toBe('internal error (RangeError: bad); please report it with the command that caused it');
  });

  it('non-Error values and long messages stay on one short line', () => {
    expect(formatCliError({ a: 1 })).toMatch(/a non-Error value was thrown: \{"a":1\}$/);
    expect(formatCliError(undefined)).toMatch(/a non-Error value was thrown: undefined$/);
    const long = formatCliError('x'.repeat(10_000));
    expect(long.length).toBeLessThan(250);
    expect(clip('a\n  b')).toBe('a b');
    expect(moduleLoadError('m.ts', new Error('two\nlines')).message).toBe('cannot load m.ts: two lines');
    expect(moduleLoadError('m.ts', new Error('x')).code).toBe('BUILD_MODULE');
  });
});
