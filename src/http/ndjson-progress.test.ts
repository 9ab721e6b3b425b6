/** Live progress as JSON Lines: each event leaves as it happens; refusals before the first event stay ordinary errors. */
import { describe, expect, it } from 'vitest';
import { appError } from '../errors/index.js';
import { errorEvent, ndjsonProgress, wantsProgress } from './ndjson-progress.js';

const end = { result: (n: number) => ({ event: 'result', n }), error: (e: unknown) => ({ event: 'error', error: errorEvent(e) }) };

async function readLine(iterator: AsyncIterator<unknown>): Promise<unknown> {
  const next = await iterator.next();
  return next.done === true ? undefined : JSON.parse(String(next.value));
}

describe('ndjsonProgress', () => {
  it('sends each event while the work is still running, then one line from its outcome', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    const stream = await ndjsonProgress(async (emit) => {
      emit({ event: 'step', name: 'invoke' });
      await gate;
      emit({ event: 'step', name: 'login' });
      finished = true;
      return 2;
    }, end);
    const lines = stream[Symbol.asyncIterator]();
    expect(await readLine(lines)).toEqual({ event: 'step', name: 'invoke' });
    expect(finished).toBe(false); // the first line arrived while the work was held
    release();
    expect(await readLine(lines)).toEqual({ event: 'step', name: 'login' });
    expect(await readLine(lines)).toEqual({ event: 'result', n: 2 });
    expect(await readLine(lines)).toBeUndefined();
  });

  it('a refusal before the first event is thrown (the caller answers it with its status)', async () => {
    await expect(ndjsonProgress(() => Promise.reject(appError.notFound('account "nope"')), end)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a failure after the stream began is its last line; an unexpected one says only "internal"', async () => {
    const stream = await ndjsonProgress(async (emit) => {
      emit({ event: 'step', name: 'invoke' });
      await Promise.resolve();
      throw new Error('connection string postgres://admin:hunter2@db');
    }, end);
    const lines: unknown[] = [];
    for await (const line of stream) lines.push(JSON.parse(String(line)));
    expect(lines).toEqual([{ event: 'step', name: 'invoke' }, { event: 'error', error: { code: 'internal', message: 'internal error; see the server log' } }]);
  });

  it('work that ends before any event still answers as a stream', async () => {
    const stream = await ndjsonProgress(() => Promise.resolve(7), end);
    const lines: unknown[] = [];
    for await (const line of stream) lines.push(JSON.parse(String(line)));
    expect(lines).toEqual([{ event: 'result', n: 7 }]);
  });
});

describe('wantsProgress', () => {
  it('reads the Accept header', () => {
    expect(wantsProgress('application/x-ndjson')).toBe(true);
    expect(wantsProgress('application/x-ndjson, application/json;q=0.5')).toBe(true);
    expect(wantsProgress('application/json')).toBe(false);
    expect(wantsProgress(undefined)).toBe(false);
  });
});
