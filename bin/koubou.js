#!/usr/bin/env node
// The `koubou` command. Runs the compiled JavaScript in dist/, compiling it first when the
// TypeScript sources are newer (bin/build.js); without a TypeScript compiler it runs the
// sources through tsx, slower to start but the same program.
import { ensureBuilt } from './build.js';

if (ensureBuilt()) {
  await import('../dist/src/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
