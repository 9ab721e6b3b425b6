import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRevocationJournal } from './revocation-journal.js';

const record = (n: number) => ({ grantId: `gr_${n}`, at: `2030-01-01T00:00:0${n}.000Z`, target: 'db', principal: 'bg_admin', mode: 'prestaged' as const });

describe('revocation journal', () => {
  it('journal: records survive a reopen in order, its space is reserved up front, and dropped ones are gone', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bg-journal-')), 'revocation-journal');
    const journal = openRevocationJournal(path, 4096);
    expect(statSync(path).size).toBe(4096);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    journal.append(record(1));
    journal.append(record(2));
    journal.append(record(3));
    journal.close();
    const reopened = openRevocationJournal(path, 4096);
    expect(reopened.records().map((r) => r.grantId)).toEqual(['gr_1', 'gr_2', 'gr_3']);
    reopened.drop(2);
    reopened.append(record(4));
    reopened.close();
    expect(openRevocationJournal(path, 4096).records().map((r) => r.grantId)).toEqual(['gr_3', 'gr_4']);
    expect(statSync(path).size).toBe(4096);
  });

  it('journal: a line torn by a crash is skipped, and the next append starts a line of its own', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bg-journal-')), 'revocation-journal');
    const first = openRevocationJournal(path, 4096);
    first.append(record(1));
    first.close();
    // A crash mid-write: part of a line, no newline, where the zeros began.
    const content = Buffer.alloc(4096);
    const line = Buffer.from(`${JSON.stringify(record(1))}\n`);
    line.copy(content);
    Buffer.from('{"grantId":"gr_9","at":"20').copy(content, line.length);
    writeFileSync(path, content);
    const after = openRevocationJournal(path, 4096);
    expect(after.records().map((r) => r.grantId)).toEqual(['gr_1']);
    after.append(record(2));
    after.close();
    expect(openRevocationJournal(path, 4096).records().map((r) => r.grantId)).toEqual(['gr_1', 'gr_2']);
  });

  it('journal: a full journal refuses to append rather than overwrite', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bg-journal-')), 'revocation-journal');
    const journal = openRevocationJournal(path, 256);
    journal.append(record(1));
    expect(() => {
      for (let i = 0; i < 10; i++) journal.append(record(i));
    }).toThrow(/journal is full/);
  });
});
