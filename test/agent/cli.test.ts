/**
 * `tsbpf agent` on the command line: bad options are refused with the option
 * named; `--uninstall` removes a deployed datapath (links detached from the
 * cgroup, pins gone) and says so in a JSON log line.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryCgroup } from '../../loader/links/index.js';
import { lbUp } from '../../programs/lb/deploy.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';

describe('tsbpf agent (CLI)', () => {
  it('refuses bad options naming them', async () => {
    const env = { HOME: '/nonexistent' };
    let r = await runCli(['agent', '--log-level', 'loud', '--api-server', 'http://127.0.0.1:1'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--log-level 'loud'");
    r = await runCli(['agent', '--node-port-range', '5-3', '--api-server', 'http://127.0.0.1:1'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--node-port-range '5-3'");
    r = await runCli(['agent', '--debounce-ms', 'soon', '--api-server', 'http://127.0.0.1:1'], { env });
    expect(r.stderr).toContain("--debounce-ms 'soon'");
  });

  it.skipIf(!need({ kernel: true }))('--uninstall detaches the socket LB and removes its pins', async () => {
    using pins = createPinDir('agent-cli');
    using cg = createTestCgroup('agent-cli');
    const pinDir = join(pins.path, 'agent');
    lbUp({ pinDir, cgroup: cg.path, target: 'host' });
    expect(queryCgroup(cg.path, 'connect4').progIds.length).toBe(1);
    expect(existsSync(join(pinDir, 'lb4_services'))).toBe(true);
    const r = await runCli(['agent', '--uninstall', '--pin', pinDir]);
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(line).toMatchObject({ level: 'info', msg: 'datapath removed', pinDir });
    expect(line.detached).toContain('connect4');
    expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);
    expect(existsSync(pinDir) ? readdirSync(pinDir) : []).toEqual([]);
  });
});
