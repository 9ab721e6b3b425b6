/**
 * What the CLI needs from the outside world. The offline commands (init, serve, audit verify
 * of a file or data dir) are injected by the composition root (src/app/cli-main.ts), so the CLI
 * never imports the store, the modules or the HTTP server itself.
 */

/** The result of verifying an audit chain (server, exported bundle or stopped data dir). */
export type AuditVerification =
  | { ok: true; events: number; headSeq: number; checkpoints: number; publicKeyFingerprint?: string }
  | { ok: false; firstBadSeq: number; reason: string; events: number };

export interface CliDeps {
  /** Initialises a data dir; returns the one-time admin token. Throws AppError('conflict') if already initialised. */
  init(options: { dataDir: string }): Promise<{ adminToken: string; dataDir: string }>;
  /** Runs the server until SIGINT/SIGTERM; resolves when it has stopped. `onListening` gets the URL. */
  serve(options: { dataDir: string; port: number; host: string; onListening: (url: string) => void }): Promise<void>;
  /** Offline verification of an exported bundle / of a stopped server's embedded store. */
  /** With `publicKeyPem`, the bundle must be signed by that key. */
  verifyFile(path: string, options?: { publicKeyPem?: string }): Promise<AuditVerification>;
  verifyDataDir(dataDir: string): Promise<AuditVerification>;
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  fetch: typeof fetch;
  /** Whether stdout is a terminal (colours). Defaults to `process.stdout.isTTY`. */
  stdoutIsTTY?: boolean;
}
