import { AppError } from '../errors/index.js';

/**
 * Asks for a secret on the terminal without echoing it (raw mode; backspace works; Ctrl-C
 * and Ctrl-D abort). The prompt goes to stderr so `--json` output on stdout stays clean.
 *
 * @example
 * const passphrase = await promptHidden('passphrase: ');
 */
export function promptHidden(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) return Promise.reject(new AppError('validation', 'no terminal to ask on'));
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: AppError) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new AppError('validation', 'cancelled'));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
      return undefined;
    };
    output.write(prompt);
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
