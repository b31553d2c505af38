import { readFileSync, writeFileSync } from 'node:fs';
import { readObject, writeObject } from '../../dsl/elf/index.js';
writeFileSync(process.argv[3]!, writeObject(readObject(readFileSync(process.argv[2]!))));
