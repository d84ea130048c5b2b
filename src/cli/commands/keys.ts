/**
 * `koubou keys set|list|delete`: the encrypted keystore from the command line.
 * A key is only ever read from stdin. As an argument it would be kept in shell
 * history and shown to every user of the machine by `ps`.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.ts';
import { API_KEY_ENV, assertKeyName, Keystore, KeystoreError } from '../../keys/index.ts';
import { registerGatewayKeys } from './gatewayKeys.ts';
import { registerDashboardKeys } from './dashboardKeys.ts';

/** Far above any real API key; stops `koubou keys set x < big.file` from encrypting a file. */
const MAX_KEY_BYTES = 64 * 1024;

/**
 * Registers `keys` and its subcommands on `program`.
 *
 * @example
 * registerKeys(program);
 * // $ koubou keys set openai          (type or paste; nothing is echoed)
 * // $ pass show openai | koubou keys set openai
 * // $ koubou keys list
 * // $ koubou keys delete openai
 */
export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description("provider API keys in the encrypted keystore ($KOUBOU_KEYSTORE), and the gateway's client keys (keys gateway)")
    .addHelpText(
      'after',
      '\nThe keystore is encrypted with $KOUBOU_MASTER_PASSWORD (AES-256-GCM, scrypt). ' +
        'OPENAI_API_KEY in the environment, when set, is used instead of the stored "openai" key.\n' +
        'Keys for clients of koubou\'s own gateway: `koubou keys gateway create NAME` (see `koubou keys gateway --help`).\n' +
        'Keys for a dashboard that listens on anything but loopback: `koubou keys dashboard create NAME`.',
    );
  registerGatewayKeys(keys, program);
  registerDashboardKeys(keys, program);

  keys
    .command('set')
    .description('store a key, read from stdin (hidden when typed); replaces a key of the same name')
    .argument('<name>', 'the key name, e.g. openai')
    .addHelpText(
      'after',
      '\nThe key is read from stdin, never accepted as a command-line argument: an argument would land in your ' +
        'shell history and be visible to other users in `ps`. One trailing newline is removed.\n\n' +
        'Examples:\n  koubou keys set openai                   # paste the key, then Enter; it is not echoed\n' +
        '  pass show openai | koubou keys set openai',
    )
    // Extra arguments are accepted only to answer them better than "too many arguments".
    .allowExcessArguments(true)
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      if (cmd.args.length > 1) {
        throw new InputError(
          'the key is never taken as a command-line argument: pipe it on stdin or type it at the prompt. ' +
            'The one you typed is now in your shell history; consider removing it from there, or rotating the key',
          { code: 'KEY_ON_COMMAND_LINE' },
        );
      }
      await cliErrors(async () => {
        assertKeyName(name);
        const store = new Keystore();
        await store.check(); // wrong password or bad file: say so before the user types the key
        const value = await readSecret(process.stdin, `${name} key (input hidden): `);
        await store.set(name, value);
        process.stdout.write(`stored key "${name}" in ${store.file}\n`);
        const envVar = (API_KEY_ENV as Record<string, string>)[name];
        if (envVar && process.env[envVar]) {
          process.stderr.write(`koubou: note: ${envVar} is set in this environment and is used instead of the stored key\n`);
        }
      });
    });

  keys
    .command('list')
    .description('list the names of the stored keys (never their values)')
    .action(async () => {
      await cliErrors(async () => {
        const store = new Keystore();
        const names = await store.list();
        if (names.length === 0) process.stderr.write(`koubou: no keys stored in ${store.file}\n`);
        for (const n of names) process.stdout.write(`${n}\n`);
      });
    });

  keys
    .command('delete')
    .description('remove a stored key')
    .argument('<name>', 'the key name, e.g. openai')
    .action(async (name: string) => {
      await cliErrors(async () => {
        const store = new Keystore();
        if (!(await store.delete(name))) {
          throw new KeystoreError('KEY_NOT_FOUND', `no key named "${name}" in ${store.file}`);
        }
        process.stdout.write(`deleted key "${name}" from ${store.file}\n`);
      });
    });
}

/**
 * Reads one secret from `input`. On a terminal: prompts on stderr and reads one line
 * with echo off (readline writing its echo to a sink). Otherwise: reads to the end
 * and removes one trailing newline, so `echo $KEY |` and `printf %s $KEY |` agree.
 *
 * @example
 * const key = await readSecret(process.stdin, 'openai key (input hidden): ');
 */
export async function readSecret(input: NodeJS.ReadableStream & { isTTY?: boolean }, prompt: string): Promise<string> {
  const text = input.isTTY ? await readHiddenLine(input, prompt) : await readAll(input);
  if (Buffer.byteLength(text) > MAX_KEY_BYTES) throw new KeystoreError('KEY_VALUE_INVALID', 'the key on stdin is longer than 64 KiB');
  return text.replace(/\r?\n$/, '');
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += b.length;
    if (size > MAX_KEY_BYTES) throw new KeystoreError('KEY_VALUE_INVALID', 'the key on stdin is longer than 64 KiB');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function readHiddenLine(input: NodeJS.ReadableStream, prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  // historySize 0: readline would otherwise keep the typed key in its line history.
  const rl = createInterface({ input, output: sink, terminal: true, historySize: 0 });
  return new Promise<string>((resolve, reject) => {
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    // In raw mode Ctrl-C reaches readline, not the process; without this it would only pause.
    rl.once('SIGINT', () => {
      rl.close();
    });
    rl.once('close', () => {
      process.stderr.write('\n');
      if (!answered) reject(new KeystoreError('KEY_VALUE_INVALID', 'no key entered'));
    });
  });
}

/**
 * `runCli` exits 2 only for errors named `InputError`; a `KeystoreError` (the user's
 * password, file or name) deserves the same, so it is re-thrown as one, code kept.
 */
async function cliErrors(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (e instanceof KeystoreError) throw new InputError(e.message, { code: e.code });
    throw e;
  }
}
