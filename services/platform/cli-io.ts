/** What a `hub` subcommand gets: its arguments and the three streams. It returns the exit code. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type RoleMain = (args: readonly string[], io: CliIo) => Promise<number>;
