import { ConfigError } from '../config/campaign.ts';
import { log } from '../log.ts';

/** A CLI failure the user can act on: printed as one plain line, exit code 2. */
export class UsageError extends Error {}

/** Runs a command's main, turning expected failures into a clear message and exit code. */
export function runCli(main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      if (error instanceof UsageError || error instanceof ConfigError) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 2;
        return;
      }
      const code = (error as { code?: string }).code;
      if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
        process.stderr.write(`${(error as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      log.error({ err: error }, 'command failed');
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
