import { availableParallelism } from 'node:os';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// Three projects, all run by `vitest run` (`npm test`), each on its own with
// `vitest run --project NAME` (`npm run test:unit|test:kernel|test:e2e`):
//  - kernel: bpf() syscalls for real (root): loads, BPF_PROG_TEST_RUN, maps, probes.
//  - e2e: network namespaces, veths, cgroups and real traffic, or real processes
//    (the `tsbpf` bin, setpriv, child processes sharing pins).
//  - unit: everything else — pure, no kernel, no root (external tools such as
//    clang-19 or llvm-objdump-19 as oracles are fine).
// A test file that is in neither list is a unit test: add a file that needs the
// kernel to KERNEL, one that needs namespaces/cgroups/processes to E2E.
const KERNEL = [
  'test/btf/kernel.test.ts',
  'test/btf/prog-info-kernel.test.ts',
  'test/btf/sanitize.test.ts',
  'test/build/cli.test.ts',
  'test/build/examples.test.ts',
  'test/dsl/arith.test.ts',
  'test/dsl/codegen.test.ts',
  'test/dsl/errors.test.ts',
  'test/dsl/features.test.ts',
  'test/dsl/loops.test.ts',
  'test/dsl/readme.test.ts',
  'test/elf/clang.test.ts',
  'test/elf/tools.test.ts',
  'test/fit/split-kernel.test.ts',
  'test/fit/split-random.test.ts',
  'test/kernel-data/context.test.ts',
  'test/kernel-data/helper-availability.test.ts',
  'test/kernel-data/profiles.test.ts',
  'test/kernel-data/sections.test.ts',
  'test/kernel-data/uapi.test.ts',
  'test/loader/cli-map-prog.test.ts',
  'test/loader/fd-leak.test.ts',
  'test/loader/maps.test.ts',
  'test/loader/object-fd.test.ts',
  'test/loader/object-features.test.ts',
  'test/loader/object.test.ts',
  'test/loader/programs.test.ts',
  'test/loader/ringbuf.test.ts',
  'test/loader/typed-maps.test.ts',
  'test/probe/bpftool.test.ts',
  'test/probe/catalog.test.ts',
  'test/probe/misc.test.ts',
  'test/probe/parallel.test.ts',
  'test/probe/profile-build.test.ts',
  'test/types/vmlinux-schemas.test.ts',
];
const E2E = [
  'test/cli/process.test.ts',
  'test/dsl/connect4.test.ts',
  'test/loader/errors.test.ts',
  'test/loader/links-cgroup.test.ts',
  'test/loader/links-cli.test.ts',
  'test/loader/links-fds.test.ts',
  'test/loader/links-netlink.test.ts',
  'test/loader/links-replace.test.ts',
  'test/loader/links-tc.test.ts',
  'test/loader/links-xdp.test.ts',
  'test/loader/object-pin.test.ts',
  'test/loader/pin.test.ts',
  'test/package/exports.test.ts',
  'test/probe/attach.test.ts',
  'test/probe/cli.test.ts',
];

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
    // At least 3 even on 2 cores (a waiting kernel file leaves its core to the others).
    maxWorkers: Math.max(3, availableParallelism() - 1),
    projects: [
      project('unit', { include: ['test/**/*.test.ts'], exclude: [...KERNEL, ...E2E], pool: 'forks', isolate: false }),
      project('kernel', { include: KERNEL, pool: 'forks', isolate: false }),
      project('e2e', { include: E2E, pool: 'forks' }),
    ],
  },
});
