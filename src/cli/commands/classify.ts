import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { InputError } from '../../core/errors.ts';
import { createScanner } from '../../routing/index.ts';
import type { SensitivityScanner } from '../../policy/index.ts';
import { readTaskFiles } from '../readTaskFiles.ts';

interface ClassifyOptions {
  json?: boolean;
  jsonl?: boolean;
  file: string[];
}

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('classify text (and files) as confidential, internal or public, naming what was found')
    .argument('[text]', 'the text to classify (omit with --jsonl)')
    .option('-f, --file <path>', 'also scan this file (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--json', 'print one JSON object')
    .option('--jsonl', 'batch: read lines {"id": ..., "text": ...} on stdin, write {"id", "level", "categories"} per line')
    .addHelpText('after', '\nFindings name the category, source and line, never the secret itself.')
    .action(async (text: string | undefined, opts: ClassifyOptions) => {
      const scanner = createScanner(loadConfig({ file: program.opts().config }));
      if (opts.jsonl) {
        if (text !== undefined || opts.file.length > 0) throw new InputError('--jsonl reads stdin only: give no text or --file');
        const bad = await classifyJsonl(scanner, process.stdin, (line) => process.stdout.write(`${line}\n`));
        if (bad > 0) {
          process.stderr.write(`koubou: ${bad} input line(s) were not valid; see their "error" output lines\n`);
          process.exitCode = 2;
        }
        return;
      }
      if (text === undefined && opts.file.length === 0) throw new InputError('give the text to classify, --file, or --jsonl');
      if (text !== undefined && text.trim() === '' && opts.file.length === 0) throw new InputError('the text to classify is empty');
      const result = await scanner.scan({ prompt: text ?? '', files: readTaskFiles(opts.file) });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      process.stdout.write(`${result.level}${result.categories.length ? ` (${result.categories.join(', ')})` : ''}\n`);
      for (const f of result.findings) process.stdout.write(`  ${f.category.padEnd(20)} ${f.source}:${f.line}  [${f.rule}]\n`);
    });
}

/**
 * Classifies JSONL from `input`, one output line per input line, in order. A bad
 * line gets an `{"line": n, "error": ...}` output line and the rest still runs.
 *
 * @returns how many lines were bad.
 */
export async function classifyJsonl(
  scanner: SensitivityScanner,
  input: NodeJS.ReadableStream,
  write: (line: string) => void,
): Promise<number> {
  let lineNo = 0;
  let bad = 0;
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    lineNo += 1;
    if (raw.trim() === '') continue;
    let item: unknown;
    try {
      item = JSON.parse(raw);
    } catch (e) {
      bad += 1;
      write(JSON.stringify({ line: lineNo, error: `not valid JSON: ${(e as Error).message}` }));
      continue;
    }
    const obj = item as { id?: unknown; text?: unknown };
    if (typeof item !== 'object' || item === null || Array.isArray(item) || typeof obj.text !== 'string') {
      bad += 1;
      write(JSON.stringify({ line: lineNo, ...(obj?.id !== undefined ? { id: obj.id } : {}), error: 'expected an object with a string "text" field' }));
      continue;
    }
    const result = await scanner.scanText(obj.text, 'text');
    write(JSON.stringify({ id: obj.id ?? null, level: result.level, categories: result.categories }));
  }
  return bad;
}
