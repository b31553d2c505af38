/**
 * Interface names in pin names: bpffs refuses a name with a dot (EPERM), and a
 * VLAN device is `eth0.100`. The agent's tc links (tc ClusterIP on pods' veths,
 * NodePort on the native device) are pinned under the mapped name; pinning
 * under it works on a real bpffs where the raw name does not.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfMap } from '../../loader/maps/index.js';
import { pinDevice } from '../../programs/agent/nodeport-links.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';

describe('pin names of interfaces', () => {
  it('maps every character bpffs refuses and keeps the rest', () => {
    expect(pinDevice('eth0.100')).toBe('eth0_100');
    expect(pinDevice('lxc-a_1')).toBe('lxc-a_1');
    expect(pinDevice('a@b:c')).toBe('a_b_c');
  });

  it.skipIf(!need({ kernel: true }))('a VLAN device name pins under its mapped name, not under its own', () => {
    using pins = createPinDir('pinnames');
    using map = BpfMap.create({ type: 'ARRAY', name: 'pinname', key: 4, value: 4, maxEntries: 1 });
    expect(() => map.pin(join(pins.path, 'eth0.100'))).toThrow(/EPERM|not permitted/i);
    map.pin(join(pins.path, pinDevice('eth0.100')));
    using again = BpfMap.fromPin(join(pins.path, 'eth0_100'));
    expect(again.info().id).toBe(map.info().id);
  });
});
