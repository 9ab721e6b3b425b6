/**
 * Runs one script invocation: no shell, a fresh process group, the request on stdin, bounded
 * output, and a deadline after which the whole group is terminated (SIGTERM, then SIGKILL).
 * This file knows nothing about the protocol or AppError; exec-connector.ts classifies results.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** How long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 1000;
const GROUP_POLL_MS = 25;

export interface ProcessSpec {
  readonly command: string;
  readonly argv: readonly string[];
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
  readonly timeoutMs: number;
  /** Stdout beyond this is an error: the answer is one small JSON document. */
  readonly maxStdoutBytes: number;
  /** Only the last this-many bytes of stderr are kept (evidence, not data). */
  readonly maxStderrBytes: number;
}

export type ProcessOutcome =
  | { readonly kind: 'exited'; readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: Buffer; readonly stderr: StderrTail }
  | { readonly kind: 'timeout'; readonly stderr: StderrTail }
  | { readonly kind: 'overflow'; readonly stderr: StderrTail }
  | { readonly kind: 'spawn_failed'; readonly errno: string; readonly error: Error };

/** The end of stderr; `truncated` says its beginning was cut (possibly inside a secret). */
export interface StderrTail {
  readonly text: string;
  readonly truncated: boolean;
}

/**
 * Spawns the script and resolves once it has exited and closed its output, or, past the
 * deadline, once its whole process group is gone or SIGKILLed. Never rejects: every failure is
 * an outcome, so callers cannot leak a running script by forgetting a catch. A timed-out call
 * resolves only after the kill, so a retry never overlaps a still-running earlier attempt of
 * the same revocation.
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    const child = spawn(spec.command, [...spec.argv], {
      cwd: spec.cwd,
      env: { ...spec.env },
      shell: false,
      // Its own process group, so a timeout can kill the script's children too.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const stdout = new BoundedBuffer(spec.maxStdoutBytes);
    const stderr = new TailBuffer(spec.maxStderrBytes);
    let settled = false;
    let killing = false;

    const finish = (outcome: ProcessOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    /** Ends the whole group, then reports `kind`; a slow exit never blocks longer than the grace. */
    const terminate = (kind: 'timeout' | 'overflow') => {
      if (killing || settled) return;
      killing = true;
      clearTimeout(timer);
      void killGroup(child.pid).then(() => {
        // A process that escaped the group may still hold the pipes open; stop reading them.
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ kind, stderr: stderr.tail() });
      });
    };

    const timer = setTimeout(() => terminate('timeout'), spec.timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) come here with no process to wait for.
      if (child.pid === undefined) finish({ kind: 'spawn_failed', errno: error.code ?? 'unknown', error });
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!stdout.push(chunk)) terminate('overflow');
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('close', (code, signal) => {
      if (killing) return;
      finish({ kind: 'exited', code, signal, stdout: stdout.bytes(), stderr: stderr.tail() });
    });
    // A script may exit without reading its request: EPIPE on stdin is its answer, not ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.stdin, 'utf8');
  });
}

/** SIGTERM to the group, up to KILL_GRACE_MS for it to leave, then SIGKILL. */
async function killGroup(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + KILL_GRACE_MS;
  while (Date.now() < deadline) {
    if (!groupAlive(pid)) return;
    await sleep(GROUP_POLL_MS);
  }
  signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch {
    return false;
  }
  // kill() counts zombies too, and an init that reaps orphans lazily can leave a killed
  // script's children as zombies for a long while; where /proc exists, ask it instead.
  return liveGroupMember(pid) ?? true;
}

/** Is any non-zombie process in the group? `undefined` where /proc cannot tell. */
function liveGroupMember(pgid: number): boolean | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Collects up to `limit` bytes; `push` says false once the limit is passed. */
class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.limit) return false;
    this.chunks.push(chunk);
    return true;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Keeps the last `limit` bytes of a stream. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.limit * 2) this.compact();
  }

  tail(): StderrTail {
    this.compact();
    return { text: Buffer.concat(this.chunks).toString('utf8'), truncated: this.dropped };
  }

  private compact(): void {
    if (this.size <= this.limit) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(all.length - this.limit)];
    this.size = this.limit;
    this.dropped = true;
  }
}
