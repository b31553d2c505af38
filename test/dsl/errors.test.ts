/**
 * Build-time errors name the user's TypeScript file and line: stack overflow,
 * helpers unavailable for the program type or the target, values used outside
 * their scope, misuse caught at run time of the builder. And a verifier rejection
 * of a DSL program reports the TypeScript line of the failing instruction.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { arrayMap, buildObject, DslError, fn, hashMap, program } from '../../dsl/program/index.js';
import { array, struct, u8, u16, u32, u64 } from '../../dsl/types/index.js';
import { VerifierError } from '../../loader/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const file = fileURLToPath(import.meta.url);
const lines = readFileSync(file, 'utf8').split('\n');
/** Line number (1-based) of the line carrying `// @mark:name`. */
const lineOf = (name: string) => lines.findIndex((l) => l.includes(`// @mark:${name}`)) + 1;

function buildError(fn: () => unknown): DslError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DslError) return e;
    throw e;
  }
  throw new Error('expected a DslError');
}

describe('build-time errors name the TypeScript line', () => {
  it('stack frame over 512 bytes', () => {
    const Big = struct('big', { a: array(u64, 40) });
    const p = program('tc', 'overflow', (b) => {
      b.local(Big);
      b.local(Big); // @mark:overflow
      b.return(0);
    });
    const e = buildError(() => buildObject([p], { target: '6.6' }));
    expect(e.code).toBe('DSL_STACK_OVERFLOW');
    expect(e.source?.file).toBe(file);
    expect(e.source?.line).toBe(lineOf('overflow'));
    expect(e.message).toContain(`${file}:${lineOf('overflow')}`);
  });

  it('the combined stack of a bpf-to-bpf call chain over 512 bytes', () => {
    const Big = struct('big2', { a: array(u64, 40) });
    const deep = fn('deep_fn', { x: u32 }, u32, (b, { x }) => {
      const l = b.local(Big);
      l.a.at(0).set(x.to(u64));
      return l.a.at(0).to(u32);
    });
    const p = program('tc', 'deepcall', (b, ctx) => { // @mark:deep
      const l = b.local(Big);
      l.a.at(1).set(ctx.len.to(u64));
      b.return(b.call(deep, { x: l.a.at(1).to(u32) }));
    });
    const e = buildError(() => buildObject([p], { target: '6.6' }));
    expect(e.code).toBe('DSL_STACK_OVERFLOW');
    expect(e.message).toMatch(/call chain needs 640 bytes/);
    expect(e.source?.line).toBe(lineOf('deep'));
  });

  it('helper not available for the program type', () => {
    const p = program('socket', 'nofib', (b) => {
      const params = b.local(struct('fib', { x: array(u8, 64) }));
      b.fibLookup(params, 0); // @mark:fibtype
      b.return(0);
    });
    const e = buildError(() => buildObject([p], { target: '6.6' }));
    expect(e.code).toBe('DSL_HELPER_UNAVAILABLE');
    expect(e.message).toMatch(/bpf_fib_lookup/);
    expect(e.message).toMatch(/SOCKET_FILTER/);
    expect(e.source?.line).toBe(lineOf('fibtype'));
  });

  it('helper not available on the target kernel', () => {
    const p = program('tc', 'neigh', (b) => {
      b.redirectNeigh(1); // @mark:neigh
      b.return(0);
    });
    expect(() => buildObject([p], { target: '6.6' })).not.toThrow();
    const e = buildError(() => buildObject([p], { target: '4.19' }));
    expect(e.code).toBe('DSL_HELPER_UNAVAILABLE');
    expect(e.message).toMatch(/bpf_redirect_neigh/);
    expect(e.message).toMatch(/target 4\.19/);
    expect(e.source?.line).toBe(lineOf('neigh'));
  });

  it('a map value pointer used outside ifPresent', () => {
    const m = hashMap('scoped', u32, u64, { maxEntries: 4 });
    const p = program('tc', 'scope', (b) => {
      let leaked: { set(v: number): void } | undefined;
      b.lookup(m, 1).ifPresent((v) => {
        leaked = v;
      });
      leaked!.set(5); // @mark:leak
      b.return(0);
    });
    const e = buildError(() => buildObject([p], { target: '6.6' }));
    expect(e.code).toBe('DSL_SCOPE');
    expect(e.source?.line).toBe(lineOf('leak'));
    expect(e.message).toMatch(/outside the scope/);
  });

  it('a value computed in a branch used after it', () => {
    const p = program('tc', 'scope2', (b, ctx) => {
      let v: ReturnType<typeof ctx.len.add> | undefined;
      b.if(ctx.len.gt(1), () => {
        v = ctx.len.add(1);
      });
      b.return(v!); // @mark:branch
    });
    const e = buildError(() => buildObject([p], { target: '6.6' }));
    expect(e.code).toBe('DSL_SCOPE');
    expect(e.source?.line).toBe(lineOf('branch'));
  });

  it('break outside a loop, mixing types through casts, unknown sections', () => {
    const p = program('tc', 'brk', (b) => {
      b.break(); // @mark:break
    });
    const e = buildError(() => buildObject([p], { target: '6.6' }));
    expect(e.source?.line).toBe(lineOf('break'));
    const q = program('tc', 'mix', (b, ctx) => {
      // Defeating the types with a cast still fails at build time.
      b.return(ctx.len.add(ctx.protocol as never)); // @mark:mix
    });
    const e2 = buildError(() => buildObject([q], { target: '6.6' }));
    expect(e2.code).toBe('DSL_TYPE');
    expect(e2.message).toMatch(/cannot mix u32 and be16/);
    expect(e2.source?.line).toBe(lineOf('mix'));
    const e3 = buildError(() => program('nonsense/section', 'x', () => {})); // @mark:section
    expect(e3.code).toBe('DSL_SECTION');
    expect(e3.source?.line).toBe(lineOf('section'));
  });

  it('writing a read-only context field when the types are bypassed', () => {
    const p = program('cgroup/connect4', 'rofield', (b, ctx) => {
      (ctx.family as unknown as { set(v: number): void }).set(2); // @mark:ro
      b.return(1);
    });
    const e = buildError(() => buildObject([p], { target: '6.6' }));
    expect(e.code).toBe('DSL_READ_ONLY');
    expect(e.source?.line).toBe(lineOf('ro'));
  });

  it('a loop whose unrolled size exceeds 4,096 instructions on 4.19 is rejected, and is a real loop on 6.6', () => {
    const out = arrayMap('big_loop', u64, { maxEntries: 1 });
    const p = program('tc', 'bigloop', (b, ctx) => { // @mark:bigloop
      const acc = b.let(u64, 0);
      b.loop(900, (i) => {
        acc.set(acc.add(i.to(u64)).xor(ctx.len.to(u64)));
        acc.set(acc.mul(3));
      });
      b.lookup(out, 0).orReturn(0).set(acc);
      b.return(0);
    });
    const e = buildError(() => buildObject([p], { target: '4.19' }));
    expect(e.code).toBe('DSL_TOO_BIG');
    expect(e.message).toMatch(/above the 4096/);
    expect(e.source?.line).toBe(lineOf('bigloop'));
    expect(() => buildObject([p], { target: '6.6' })).not.toThrow();
  });
});

describe('verifier rejections map to TypeScript lines', () => {
  it.skipIf(!need({ kernel: true }))('a packet read at an unbounded offset is reported at the line that reads', () => {
    const Hdr = struct('hdr16', { x: u16 });
    const p = program('tc', 'badparse', (b, ctx) => {
      const h = b.parse(Hdr, ctx.mark).orReturn(0);
      b.return(h.x.to(u32)); // @mark:verifier
    });
    const spec = buildObject([p], { target: '6.6' });
    let err: unknown;
    try {
      loadSpec(spec).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.source?.file).toBe(file);
    expect(v.source?.line).toBe(lineOf('verifier'));
    expect(v.message).toMatch(/packet/);
  });
});

describe('verifier rejections through the ELF object and the object loader (BTF line_info)', () => {
  it.skipIf(!need({ kernel: true }))('report the TypeScript line carried by line_info', async () => {
    const { writeObject, readObject } = await import('../../dsl/elf/index.js');
    const { loadObject } = await import('../../loader/index.js');
    const Hdr = struct('hdr16b', { x: u16 });
    const p = program('tc', 'badparse2', (b, ctx) => {
      const h = b.parse(Hdr, ctx.mark).orReturn(0);
      b.return(h.x.to(u32)); // @mark:lineinfo
    });
    const bytes = writeObject(buildObject([p], { target: '6.6' }));
    // The ELF carries the location as BTF line_info, not as in-memory metadata.
    const back = readObject(bytes);
    expect(back.programs[0]!.instructions.some((i) => i.meta?.source?.line === lineOf('lineinfo'))).toBe(true);
    let err: unknown;
    try {
      loadObject(bytes, { objectName: 'badparse' }).close();
    } catch (e) {
      err = e;
    }
    const v = (err as { cause?: unknown }).cause instanceof VerifierError ? ((err as { cause: VerifierError }).cause) : (err as VerifierError);
    expect(v).toBeInstanceOf(VerifierError);
    expect(v.source?.line).toBe(lineOf('lineinfo'));
    // line_info names the file relative to the project root (the same bytes from any checkout).
    expect(v.source?.file).toBe('test/dsl/errors.test.ts');
  });
});
