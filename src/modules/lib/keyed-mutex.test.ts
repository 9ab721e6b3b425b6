import { describe, expect, it } from 'vitest';
import { createKeyedMutex } from './keyed-mutex.js';

describe('keyed mutex', () => {
  it('runs work of one key one at a time, in order, and other keys alongside', async () => {
    const mutex = createKeyedMutex();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = mutex.run('a', async () => {
      log.push('a1 start');
      await gate;
      log.push('a1 end');
    });
    const second = mutex.run('a', async () => {
      log.push('a2');
      return 2;
    });
    const other = mutex.run('b', async () => {
      log.push('b');
      return 'b';
    });
    await other;
    expect(log).toEqual(['a1 start', 'b']);
    release();
    await first;
    expect(await second).toBe(2);
    expect(log).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('a failure releases the key for the next holder', async () => {
    const mutex = createKeyedMutex();
    await expect(mutex.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await mutex.run('a', () => Promise.resolve('next'))).toBe('next');
  });
});
