/**
 * An object whose properties are built on first read, once each: a transaction handle offers
 * every repository, but a transaction uses two or three of them, and building all of them (each
 * a dozen closures) for every transaction was measurable garbage under a burst (issue 13).
 *
 * @example const tx = lazyRepositories({ users: () => userRepository(trx), grants: () => grantRepository(trx) });
 */
export function lazyRepositories<T extends object>(makers: { readonly [K in keyof T]: () => T[K] }): T {
  const handle = {} as T;
  for (const key of Object.keys(makers) as (keyof T & string)[]) {
    Object.defineProperty(handle, key, {
      enumerable: true,
      configurable: true,
      get() {
        const value = makers[key]();
        Object.defineProperty(handle, key, { value, enumerable: true, writable: false, configurable: false });
        return value;
      },
    });
  }
  return handle;
}
