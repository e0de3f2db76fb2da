/**
 * Sub-accounts: id, credentials (stored as scrypt hashes, never in clear),
 * and the capability standard — hashes per second to sustain over a window.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ErrorCode, HashgridError } from '../core/errors.js';

/** A sub-account as configured (a plan file, the bus, `hashgrid up`). */
export const SubAccountConfig = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64 (a Stratum worker is <sub-account>.<rig>)'),
  /** Clear password (hashed on load) or an existing `scrypt$...` hash. */
  password: z.string().min(8).max(256).optional(),
  passwordHash: z.string().startsWith('scrypt$').optional(),
  /** H/s to sustain. */
  standard: z.number().nonnegative(),
  /** Seconds the standard is measured over (default 600). */
  windowSeconds: z.number().int().positive().max(86_400).default(600),
});
export type SubAccountConfig = z.input<typeof SubAccountConfig>;

const N = 1 << 14;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N });
  return `scrypt$${N}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [, n, salt, hash] = stored.split('$');
  if (!n || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n) });
  return timingSafeEqual(expected, actual);
}

export interface SubAccount {
  id: string;
  passwordHash: string;
  standard: number;
  windowSeconds: number;
}

/** Validates a configured sub-account and hashes its password. */
export function loadSubAccount(input: unknown): SubAccount {
  const parsed = SubAccountConfig.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HashgridError(ErrorCode.SUBACCOUNT, `sub-account ${issue.path.join('.') || ''}: ${issue.message}`.replace(' :', ':'));
  }
  const c = parsed.data;
  // A sub-account without credentials could be claimed by anyone.
  if (!c.password && !c.passwordHash) throw new HashgridError(ErrorCode.SUBACCOUNT, `sub-account ${c.id}: expected password or passwordHash`);
  return { id: c.id, passwordHash: c.passwordHash ?? hashPassword(c.password!), standard: c.standard, windowSeconds: c.windowSeconds };
}
