import { open, rename, rm, type FileHandle } from 'node:fs/promises';

/**
 * Writes a file no other user can read, never half-written: `PATH.tmp` is created 0600,
 * filled by `fill`, synced, and renamed into place; on failure it is removed.
 */
export async function writePrivateFile(path: string, fill: (file: FileHandle) => Promise<void>): Promise<void> {
  const tmp = `${path}.tmp`;
  await rm(tmp, { force: true });
  const file = await open(tmp, 'wx', 0o600);
  try {
    await fill(file);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await file.close();
  await rename(tmp, path);
}
