import type { CliDeps } from './cli-deps.js';

/** All of the process's stdin, as UTF-8 text, once it ends. */
export function readProcessStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => (text += chunk));
    process.stdin.once('end', () => resolve(text));
    process.stdin.once('error', reject);
  });
}

/** How a command reads stdin: the test's reader when one is given, else the process's. */
export const stdinOf = (deps: Pick<CliDeps, 'readStdin'>): (() => Promise<string>) => deps.readStdin ?? readProcessStdin;
