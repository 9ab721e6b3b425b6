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
  /**
   * Initialises a data dir with its root key sealed as `seal` says (keyfile by default); returns
   * the one-time admin token, and for a shamir seal the unseal shares. Throws AppError('conflict') if already initialised.
   */
  init(options: { dataDir: string; seal?: SealChoice; secrets?: SealSecretSources }): Promise<{ adminToken: string; dataDir: string; unsealShares?: readonly string[] }>;
  /**
   * Runs the server until SIGINT/SIGTERM; resolves when it has stopped. `onListening` gets the URL,
   * and whether the server is waiting for unseal shares.
   */
  serve(options: {
    dataDir: string;
    port: number;
    host: string;
    /** Serve HTTPS with these PEM files (absolute paths). */
    tls?: { certFile: string; keyFile: string };
    onListening: (url: string, seal?: { sealed: boolean; threshold: number | null }) => void;
    secrets?: SealSecretSources;
  }): Promise<void>;
  /** `operator rekey`: the same root key under a new seal, on a stopped server's data dir. */
  rekey?: (options: RootKeyChangeRequest & { seal?: SealChoice }) => Promise<RootKeyChangeReport>;
  /** `operator rotate-root`: a new root key, every sealed value rewrapped, on a stopped server's data dir. */
  rotateRoot?: (options: RootKeyChangeRequest) => Promise<RootKeyChangeReport>;
  /** All of stdin (a share piped in). Defaults to reading process.stdin. */
  readStdin?: () => Promise<string>;
  /** Asks on the terminal without echo. Absent (or stdin not a terminal): secrets must come from the environment or files. */
  promptSecret?: (prompt: string) => Promise<string>;
  stdinIsTTY?: boolean;
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
  // issue 12 (P4): the clock `kit open` measures a kit's age with. Defaults to the system clock.
  now?: () => Date;
  /** Whether stderr is a terminal (live progress). Defaults to `process.stderr.isTTY`. */
  stderrIsTTY?: boolean;
}

/** The root key seal chosen at `init --seal` or `operator rekey --seal`. */
export interface SealChoice {
  readonly mode: 'keyfile' | 'passphrase' | 'shamir' | 'pkcs11';
  readonly unsealShares?: number;
  readonly unsealThreshold?: number;
  readonly pkcs11Module?: string;
  readonly pkcs11Token?: string;
  readonly pkcs11KeyLabel?: string;
}

/** Where the secrets of a seal come from; each is asked for only when it is needed. */
export interface SealSecretSources {
  /** The passphrase that opens the seal (init: the one that makes it). */
  readonly passphrase?: () => Promise<string>;
  /** rekey: the new passphrase. */
  readonly newPassphrase?: () => Promise<string>;
  readonly pkcs11Pin?: () => Promise<string>;
  /** `threshold` current unseal shares (text form). */
  readonly shares?: (threshold: number) => Promise<readonly string[]>;
}

export interface RootKeyChangeRequest {
  readonly dataDir: string;
  readonly secrets: SealSecretSources;
  /** Called with new unseal shares BEFORE the change commits; print them then. */
  readonly deliverShares: (shares: readonly string[]) => void;
}

export interface RootKeyChangeReport {
  readonly op: 'rekey' | 'rotation';
  readonly previousMode: string;
  readonly mode: string;
  readonly sealId: string;
  readonly unsealShares?: readonly string[];
  readonly rewrapped?: Readonly<Record<string, number>>;
  readonly skipped?: number;
}
