/**
 * Command-line parsing on node:util parseArgs, with every mistake turned into
 * a UsageError that names the flag and what was expected. The CLI prints it
 * as one line on stderr and exits with status 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCode, HashgridError, isHashgridError } from '../core/errors.js';

export class UsageError extends HashgridError {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(ErrorCode.INVALID_ARGUMENT, `${flag}: ${message}`, { flag });
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    // parseArgs errors read "Unknown option '--x'..." or "Option '--x <value>' argument missing".
    const message = (e as Error).message;
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? 'arguments';
    throw new UsageError(flag, message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** Parses an integer flag in [min, max]; accepts decimal or 0x hex. */
export function parseIntegerFlag(flag: string, value: string, min: number, max: number): number {
  const n = /^0x[0-9a-f]+$/i.test(value) ? Number.parseInt(value, 16) : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(flag, `expected an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** Runs `fn`; re-throws a library error about a value as a UsageError naming `flag`. */
export function forFlag<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isHashgridError(e) && !(e instanceof UsageError)) {
      // Library messages start with the value's own title ("header: ..."): the flag replaces it.
      throw new UsageError(flag, e.message.replace(/^[\w ]+: /, ''));
    }
    throw e;
  }
}

/** Resolves on Ctrl-C (SIGINT) or SIGTERM, or after `seconds` if given: how a long-running command waits to stop. */
export function untilStopped(seconds?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (seconds) setTimeout(resolve, seconds * 1000).unref();
  });
}
