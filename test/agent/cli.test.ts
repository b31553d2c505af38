/**
 * `tsbpf agent` on the command line: bad options (NodePort and SNAT ranges
 * included) are refused with the option named; `--uninstall` removes a deployed datapath (links detached from the
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
    r = await runCli(['agent', '--snat-port-range', '70000-70001', '--api-server', 'http://127.0.0.1:1'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--snat-port-range '70000-70001'");
    r = await runCli(['agent', '--nodeport-device', 'eth0', '--snat-port-range', '31000-40000', '--api-server', 'http://127.0.0.1:1'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SNAT port range 31000-40000 overlaps the NodePort range 30000-32767');
    // The default SNAT range must stay clear of a wider NodePort range too.
    r = await runCli(['agent', '--nodeport-device', 'eth0', '--node-port-range', '30000-40000', '--api-server', 'http://127.0.0.1:1'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SNAT port range 32768-65535 overlaps the NodePort range 30000-40000');
    r = await runCli(['agent', '--nodeport-device', 'eth0', '--node-port-range', 'none', '--api-server', 'http://127.0.0.1:1'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a NodePort device needs NodePort translation on');
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
