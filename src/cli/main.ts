// Entry point of the `koubou` command: only runs the program.
import { tuneGarbageCollection } from '../core/garbageCollection.ts';
import { watchLifeline } from './ChildSupervisor.ts';
import { runCli } from './program.ts';

// `koubou --help | head`: the reader went away; that is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
}

// Short-lived objects die young (see the module). V8 reads the flag at each collection, so setting
// it here, once the entry's imports are loaded, covers the whole run.
tuneGarbageCollection();

// Under `koubou up` or `koubou pool`: gone with them, even when they are killed with kill -9.
watchLifeline();
process.exitCode = await runCli(process.argv);
