/**
 * For CLI tests that drive `runCli` against a fake server: the server-side dependencies such a
 * test never reaches, refusing if it does.
 *
 * @example const deps: CliDeps = { ...serverSideUnused, env, stdout, stderr, fetch };
 */
const unused = () => Promise.reject(new Error('unused'));

export const serverSideUnused = { init: unused, serve: unused, verifyFile: unused, verifyDataDir: unused } as const;
