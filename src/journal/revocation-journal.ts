/**
 * The revocation journal (ports/revocation-journal.ts) as a file in the data directory whose
 * space is reserved when it is opened: records are written into blocks the file already owns,
 * so an append still succeeds when the disk is full. Each record is one JSON line; the unused
 * tail is zeros. Appends are written at their offset and fsync'd; a line torn by a crash (no
 * newline, or not JSON) is ignored when the file is read.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import type { JournalRecord, RevocationJournal } from '../ports/index.js';

/** Room for several thousand records. */
export const JOURNAL_BYTES = 1024 * 1024;

export interface FileJournal extends RevocationJournal {
  close(): void;
}

/**
 * Opens (making and reserving it when missing) the journal at `path`, mode 0600.
 *
 * @example const journal = openRevocationJournal(join(dataDir, 'revocation-journal'));
 */
export function openRevocationJournal(path: string, size = JOURNAL_BYTES): FileJournal {
  const fd = openSync(path, 'a+', 0o600);
  closeSync(fd);
  const file = openSync(path, 'r+');
  const content = Buffer.alloc(size);
  const read = readSync(file, content, 0, size, 0);
  if (read < size) {
    // Reserve the space now, while there is some: zeros written, not a sparse hole.
    writeSync(file, Buffer.alloc(size - read), 0, size - read, read);
    fsyncSync(file);
  }
  let lines = parse(content.subarray(0, read));
  const used = usedBytes(content.subarray(0, read));
  // A line torn by a crash is cut off, so the next append starts on a line of its own.
  let end = content.subarray(0, used).lastIndexOf(10) + 1;
  if (end < used) {
    writeSync(file, Buffer.alloc(used - end), 0, used - end, end);
    fsyncSync(file);
  }

  const rewrite = () => {
    const text = Buffer.from(lines.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
    const buffer = Buffer.alloc(Math.max(end, text.length));
    text.copy(buffer);
    writeSync(file, buffer, 0, buffer.length, 0);
    fsyncSync(file);
    end = text.length;
  };

  return {
    append(record) {
      const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
      if (end + line.length > size) throw new Error(`the revocation journal is full (${size} bytes); the store must come back to empty it`);
      writeSync(file, line, 0, line.length, end);
      fsyncSync(file);
      end += line.length;
      lines.push(record);
    },
    records: () => [...lines],
    drop(count) {
      lines = lines.slice(count);
      rewrite();
    },
    close: () => closeSync(file),
  };
}

/** Bytes up to the first zero byte: what records occupy. */
function usedBytes(content: Buffer): number {
  const zero = content.indexOf(0);
  return zero === -1 ? content.length : zero;
}

function parse(content: Buffer): JournalRecord[] {
  const text = content.subarray(0, usedBytes(content)).toString('utf8');
  const records: JournalRecord[] = [];
  for (const line of text.split('\n').slice(0, -1)) {
    try {
      const value = JSON.parse(line) as Partial<JournalRecord>;
      if (typeof value.grantId === 'string' && typeof value.at === 'string') records.push(value as JournalRecord);
    } catch {
      // A line torn by a crash: the revocation it would record is redone by the normal path.
    }
  }
  return records;
}
