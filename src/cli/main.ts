// Entry point of the `koubou` command: only runs the program.
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv);
