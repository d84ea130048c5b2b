// `npm run docs:protocol`: writes docs/protocol.md from the message schemas.
import { writeFileSync } from 'node:fs';
import { renderProtocolDoc } from '../src/bus/protocolDoc.ts';

writeFileSync('docs/protocol.md', renderProtocolDoc());
console.log('wrote docs/protocol.md');
