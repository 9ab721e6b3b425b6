/**
 * Real store faults for the store-health tests: a tiny tmpfs that can be filled (a full disk
 * under a live SQLite store), and a PostgreSQL database in a private cluster (which can be paused).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PgCluster } from './pg-cluster.js';

/** Can this process mount a tmpfs (root, or CAP_SYS_ADMIN)? */
export function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'bg-mnt-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SmallDisk {
  /** A directory on the small filesystem (not yet created: init makes it). */
  readonly dataDir: string;
  /** Fills the filesystem to the last byte with a filler file. */
  fill(): void;
  /** Removes the filler: the disk has room again. */
  free(): void;
  unmount(): void;
}

/** A tmpfs of `sizeMb` MiB, for a data directory whose disk runs full for real. */
export function mountSmallDisk(sizeMb: number): SmallDisk {
  const mountPoint = mkdtempSync(join(tmpdir(), 'bg-smalldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', mountPoint]);
  const filler = join(mountPoint, 'filler');
  return {
    dataDir: join(mountPoint, 'data'),
    fill() {
      // dd stops with "No space left on device" (exit 1): that is the point.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        /* full */
      }
    },
    free: () => rmSync(filler, { force: true }),
    unmount() {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
      rmSync(mountPoint, { recursive: true, force: true });
    },
  };
}

/** A fresh database in a private cluster, for a store that can be made unreachable (pause()). */
export async function clusterDatabase(cluster: PgCluster): Promise<string> {
  const name = `bg_store_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return `postgres://${cluster.adminUser}:${encodeURIComponent(cluster.adminPassword)}@${cluster.host}:${cluster.port}/${name}`;
}
