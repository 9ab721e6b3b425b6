/**
 * One holder at a time per key, inside this process: the secret of an account is changed on
 * the target and then recorded in the store, and two such changes interleaved would leave the
 * target and the store disagreeing. The store's compare-and-set on the secret version catches
 * writers in other processes; this lock keeps writers of one process from racing at all.
 */
export interface KeyedMutex {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<unknown>>();
  return {
    async run(key, work) {
      const previous = tails.get(key) ?? Promise.resolve();
      const current = previous.then(work, work);
      const tail = current.catch(() => undefined);
      tails.set(key, tail);
      try {
        return await current;
      } finally {
        // The last waiter cleans up, so the map holds only keys in use.
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
  };
}
