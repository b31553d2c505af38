import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// Three projects, all run by `vitest run` (`npm test`), each on its own with
// `vitest run --project NAME` (`npm run test:unit|test:kernel|test:e2e`):
//  - e2e: network namespaces, veths, cgroups and real traffic, or real processes
//    (the `tsbpf` bin, setpriv, child processes sharing pins) — a file that uses
//    test/support/netns.ts or cgroup.ts, starts Node (`process.execPath`), or has
//    `e2e` in its name (its setup lives in a shared harness);
//  - kernel: bpf() syscalls for real (root): loads, BPF_PROG_TEST_RUN, maps,
//    probes — any other file that asks `need({ kernel: true … })`;
//  - unit: everything else — pure, no kernel, no root (external tools such as
//    clang-19 or llvm-objdump-19 as oracles are fine).
// Files are sorted by what they contain, so a new test lands in the right one.
const E2E_MARK = /support\/(netns|cgroup)\.js|process\.execPath/;
const KERNEL_MARK = /kernel: true/;
const testDir = fileURLToPath(new URL('test', import.meta.url));
const files = readdirSync(testDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => ({ path: `test/${f}`, text: readFileSync(join(testDir, f), 'utf8') }));
const isE2e = (f: { path: string; text: string }) => E2E_MARK.test(f.text) || f.path.includes('e2e');
const E2E = files.filter(isE2e).map((f) => f.path);
const KERNEL = files.filter((f) => !isE2e(f) && KERNEL_MARK.test(f.text)).map((f) => f.path);

/** One project: `extends: true` keeps the root options (timeouts, maxWorkers) below. */
function project(name: string, test: TestProjectInlineConfiguration['test']): TestProjectInlineConfiguration {
  return { extends: true, test: { name, ...test } };
}

// All three share one pool of workers (one `maxWorkers`, so vitest runs them
// side by side): kernel and e2e files spend much of their time waiting on the
// kernel (RCU grace periods on detach, traffic timeouts) while unit files use
// the CPU. Every file runs in a forked process (the CLI's `cwd` option needs
// process.chdir, which worker threads lack). Unit and kernel files share worker
// processes, so the toolchain is imported once per worker instead of once per
// file (a quarter of the kernel project's CPU time): they keep no process-wide
// state, close what they open in `finally`, and the fd-count tests measure
// deltas inside one synchronous test. e2e files get a fresh process each.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The probe's boot cache (loader/probe/boot-cache.ts) of test runs stays out of
    // /run/tsbpf; its entries are keyed by the probe's source, so an edit re-probes.
    env: { TSBPF_PROBE_CACHE: join(tmpdir(), 'tsbpf-test-probe-cache') },
    // At least 3 even on 2 cores (a waiting kernel file leaves its core to the others).
    maxWorkers: Math.max(3, availableParallelism() - 1),
    projects: [
      project('unit', { include: ['test/**/*.test.ts'], exclude: [...KERNEL, ...E2E], pool: 'forks', isolate: false }),
      project('kernel', { include: KERNEL, pool: 'forks', isolate: false }),
      project('e2e', { include: E2E, pool: 'forks' }),
    ],
  },
});
