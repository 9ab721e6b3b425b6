/**
 * Long operations with live progress over plain HTTP: the work tells of its progress through
 * `emit`, and the answer is JSON Lines, one event per line as it happens, ended by one line
 * made from the outcome. A refusal before the first event (not found, forbidden, conflict) is
 * thrown to the caller, so it stays an ordinary error answer with its status; once the stream
 * has begun the status is sent, and a failure becomes the last line instead.
 *
 * @example
 * const body = await ndjsonProgress((emit) => runDrill(ctx, actor, name, { onStep: (step) => emit({ event: 'step', step }) }), {
 *   result: (report) => ({ event: 'result', report }),
 *   error: (error) => ({ event: 'error', error: errorEvent(error) }),
 * });
 * return reply.type('application/x-ndjson').send(body);
 */
import { Readable } from 'node:stream';
import { isAppError } from '../errors/index.js';

export interface ProgressEnd<R> {
  readonly result: (outcome: R) => object;
  readonly error: (error: unknown) => object;
}

type Outcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

export async function ndjsonProgress<R>(work: (emit: (event: object) => void) => Promise<R>, end: ProgressEnd<R>): Promise<Readable> {
  const queue: string[] = [];
  let done = false;
  let wake: (() => void) | undefined;
  let begin: () => void = () => undefined;
  const begun = new Promise<void>((resolve) => (begin = resolve));
  let started = false;
  const push = (event: object) => {
    queue.push(`${JSON.stringify(event)}\n`);
    wake?.();
  };
  const outcome: Promise<Outcome<R>> = work((event) => {
    started = true;
    push(event);
    begin();
  }).then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
  await Promise.race([outcome, begun]);
  if (!started) {
    const settled = await outcome;
    if (!settled.ok) throw settled.error;
  }
  void outcome.then((settled) => {
    push(settled.ok ? end.result(settled.value) : end.error(settled.error));
    done = true;
    wake?.();
  });
  async function* lines(): AsyncGenerator<string> {
    for (;;) {
      while (queue.length > 0) yield queue.shift() as string;
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  }
  return Readable.from(lines());
}

/** The `error` event of a stream: an application error as the error answer would say it, anything else as `internal`. */
export function errorEvent(error: unknown): { code: string; message: string } {
  return isAppError(error) ? { code: error.code, message: error.message } : { code: 'internal', message: 'internal error; see the server log' };
}

/** Does the client ask for live progress (`Accept: application/x-ndjson`)? */
export function wantsProgress(accept: string | undefined): boolean {
  return accept?.split(',').some((type) => type.trim().split(';')[0]?.trim() === 'application/x-ndjson') === true;
}
