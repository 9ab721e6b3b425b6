/**
 * A small ext4 file system on a loop device, for store faults a test cannot cause otherwise:
 * a full disk (a filler file until ENOSPC) and a file system that turns read-only under a
 * running server (ext4's `trigger_fs_error` with `errors=remount-ro`: what a failing disk does,
 * and it takes effect on files already open, unlike `mount -o remount,ro`). Needs root.
 *
 * @example
 *   const disk = await createLoopDisk(48);
 *   disk.fill(); disk.unfill();
 *   disk.breakReadOnly(); await stopServer(); await disk.repair(); // read-write again
 *   await disk.remove();
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoopDisk {
  /** Where the file system is mounted. */
  readonly dir: string;
  /** Fills the file system to the last block. */
  fill(): void;
  /** Frees what `fill` took. */
  unfill(): void;
  /** An ext4 error: the kernel remounts it read-only at once, open files included. */
  breakReadOnly(): void;
  /** Unmount, fsck, mount read-write again (nothing may hold it open). */
  repair(): Promise<void>;
  remove(): Promise<void>;
}

/** Root, loop devices and mkfs.ext4: can this machine make a loop disk? */
export function loopDiskAvailable(): boolean {
  if (process.getuid?.() !== 0 || !existsSync('/dev/loop-control')) return false;
  try {
    execFileSync('sh', ['-c', 'command -v mkfs.ext4 && command -v e2fsck && command -v losetup'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function createLoopDisk(sizeMb: number): Promise<LoopDisk> {
  const root = mkdtempSync(join(tmpdir(), 'bg-loopdisk-'));
  const image = join(root, 'disk.img');
  const dir = join(root, 'mnt');
  const filler = join(dir, 'chaos-filler');
  writeFileSync(image, '');
  await run('truncate', ['-s', `${sizeMb}M`, image]);
  // No blocks reserved for root: the server runs as root in CI and would not see the disk full.
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  execFileSync('mkdir', ['-m', '0700', dir]);
  const mount = () => run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  await mount();
  // The loop device may change with each mount: ask which one it is now.
  const device = () => execFileSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).trim().replace('/dev/', '');
  return {
    dir,
    fill() {
      for (const size of [1 << 20, 4096, 512]) {
        try {
          for (;;) appendFileSync(filler, Buffer.alloc(size));
        } catch {
          // Full at this chunk size: try a smaller one.
        }
      }
    },
    unfill() {
      rmSync(filler, { force: true });
    },
    breakReadOnly() {
      writeFileSync(`/sys/fs/ext4/${device()}/trigger_fs_error`, '1');
    },
    async repair() {
      // A file of the disk may still be open for a moment (a check reading the store as the
      // server stops): "target is busy" is retried for a few seconds, then names the holders.
      for (let attempt = 1; ; attempt++) {
        try {
          await run('umount', [dir]);
          break;
        } catch (error) {
          if (attempt < 20) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            continue;
          }
          const who = await run('sh', ['-c', `for p in $(fuser -m ${dir} 2>/dev/null); do ps -o pid=,args= -p $p; ls -l /proc/$p/fd | grep ${dir}; done; true`]).catch(() => undefined);
          throw new Error(`${error instanceof Error ? error.message : String(error)}; holders: ${who?.stdout ?? 'unknown'}`);
        }
      }
      await run('e2fsck', ['-f', '-y', image]).catch(() => undefined); // exit 1: errors corrected
      await mount();
    },
    async remove() {
      await run('umount', ['-l', dir]).catch(() => undefined);
      if (existsSync(dir) && readdirSync(dir).length === 0) rmSync(root, { recursive: true, force: true });
    },
  };
}
