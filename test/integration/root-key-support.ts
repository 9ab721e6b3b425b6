/** Helpers shared by the root-key-*.test.ts suites: temp data dirs, HTTP calls, the audit chain. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/create-store.js';
import type { AuditEventRecord } from '../../src/ports/index.js';

export const passphrase = 'a long enough passphrase for tests';

export function tempDataDir(prefix = 'bg-rootkey-'): string {
  return join(mkdtempSync(join(tmpdir(), prefix)), 'data');
}

export async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: response.status, body };
}

/** Every audit event of a stopped server's embedded store. */
export async function auditEvents(dataDir: string): Promise<AuditEventRecord[]> {
  const store = await createSqliteStore(join(dataDir, 'breakglass.db'));
  try {
    return await store.transaction((tx) => tx.audit.events(1, 100_000));
  } finally {
    await store.close();
  }
}
