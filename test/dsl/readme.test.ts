/**
 * The README's "Writing programs" example is test/dsl/fixtures/counter.ts (the
 * README shows it without the relative import paths): this test keeps the two in
 * step and runs the example in the kernel.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writeObject } from '../../dsl/elf/index.js';
import { loadObject } from '../../loader/index.js';
import { need } from '../support/env.js';
import { object } from './fixtures/counter.js';

const body = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('import '))
    .join('\n')
    .trim();

describe('README example', () => {
  it('matches the fixture', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Writing programs'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    expect(body(block!)).toBe(body(readFileSync(new URL('./fixtures/counter.ts', import.meta.url), 'utf8')));
  });

  it.skipIf(!need({ kernel: true }))('loads and counts packets by EtherType', () => {
    const obj = loadObject(writeObject(object), { objectName: 'readme' });
    try {
      const prog = obj.program('count_by_proto');
      const pkt = new Uint8Array(60);
      pkt[12] = 0x08;
      pkt[13] = 0x06;
      for (let k = 0; k < 3; k++) expect(prog.run({ data: pkt }).retval).toBe(2);
      const v = obj.map('stats_by_proto').get(new Uint8Array([0x06, 0x08, 0, 0]) as never) as Uint8Array | { packets: bigint };
      const packets = v instanceof Uint8Array ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : v.packets;
      expect(packets).toBe(3n);
    } finally {
      obj.close();
    }
  });
});
