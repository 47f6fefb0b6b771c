import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { organizers, sessions } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import { decoyHash, hashPassword, verifyPassword } from './password.ts';

export const ROLES = ['admin', 'moderator'] as const;
export type Role = (typeof ROLES)[number];

export interface Organizer {
  id: number;
  username: string;
  role: Role;
}

export const usernameSchema = z
  .string()
  .trim()
  .regex(/^[a-zA-Z0-9._-]{2,40}$/, 'must be 2–40 letters, digits, dots, dashes or underscores');
export const passwordSchema = z
  .string()
  .min(12, 'must be at least 12 characters')
  .max(200, 'must be at most 200 characters');

export const SESSION_HOURS = 12;

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** Failed attempts in a sliding window, per key (an IP or a username). */
export class FailureWindow {
  readonly #hits = new Map<string, number[]>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly now: () => number = Date.now,
  ) {}

  #recent(key: string): number[] {
    const since = this.now() - this.windowMs;
    const list = (this.#hits.get(key) ?? []).filter((t) => t > since);
    if (list.length === 0) this.#hits.delete(key);
    else this.#hits.set(key, list);
    return list;
  }

  /** Seconds until another attempt is allowed, or 0. */
  blockedFor(key: string): number {
    const list = this.#recent(key);
    if (list.length < this.limit) return 0;
    return Math.ceil(((list[0] as number) + this.windowMs - this.now()) / 1000);
  }

  fail(key: string): void {
    this.#hits.set(key, [...this.#recent(key), this.now()]);
  }

  clear(key: string): void {
    this.#hits.delete(key);
  }
}

export type LoginResult =
  | { ok: true; token: string; organizer: Organizer; expiresAt: Date }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'rate-limited'; retryAfterSeconds: number };

export interface AuthOptions {
  now?: () => number;
  /** Failed logins allowed per IP and per account in 15 minutes (ASVS: at most 100 an hour). */
  failuresPerIp?: number;
  failuresPerAccount?: number;
}

export function createAuthService(db: Db, options: AuthOptions = {}) {
  const now = options.now ?? Date.now;
  const byIp = new FailureWindow(options.failuresPerIp ?? 30, 15 * 60_000, now);
  const byAccount = new FailureWindow(options.failuresPerAccount ?? 10, 15 * 60_000, now);

  async function addOrganizer(username: string, password: string, role: Role): Promise<Organizer> {
    const name = usernameSchema.parse(username);
    passwordSchema.parse(password);
    const taken = db
      .select({ id: organizers.id })
      .from(organizers)
      .where(eq(organizers.username, name))
      .get();
    if (taken) throw new Error(`the username "${name}" is taken`);
    const passwordHash = await hashPassword(password);
    const row = db
      .insert(organizers)
      .values({ username: name, passwordHash, role })
      .returning({ id: organizers.id, username: organizers.username, role: organizers.role })
      .get();
    return row;
  }

  async function login(
    username: string,
    password: string,
    meta: { ip: string; userAgent?: string },
  ): Promise<LoginResult> {
    const account = username.trim().toLowerCase();
    const wait = Math.max(byIp.blockedFor(meta.ip), byAccount.blockedFor(account));
    if (wait > 0) return { ok: false, reason: 'rate-limited', retryAfterSeconds: wait };

    const row = db.select().from(organizers).where(eq(organizers.username, username.trim())).get();
    // Unknown users cost the same time as known ones: response time does not reveal who exists.
    const valid = await verifyPassword(password, row?.passwordHash ?? (await decoyHash()));
    if (!row || !valid || row.disabled) {
      byIp.fail(meta.ip);
      byAccount.fail(account);
      return { ok: false, reason: 'invalid' };
    }
    byAccount.clear(account);
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now() + SESSION_HOURS * 3600_000);
    db.insert(sessions)
      .values({
        tokenHash: tokenHash(token),
        organizerId: row.id,
        expiresAt: expiresAt.toISOString(),
        ip: meta.ip,
        userAgent: meta.userAgent?.slice(0, 300) ?? null,
      })
      .run();
    return { ok: true, token, organizer: { id: row.id, username: row.username, role: row.role }, expiresAt };
  }

  function organizerForToken(token: string | undefined): Organizer | null {
    if (!token) return null;
    const row = db
      .select({ id: organizers.id, username: organizers.username, role: organizers.role })
      .from(sessions)
      .innerJoin(organizers, eq(organizers.id, sessions.organizerId))
      .where(
        and(
          eq(sessions.tokenHash, tokenHash(token)),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, new Date(now()).toISOString()),
          eq(organizers.disabled, false),
        ),
      )
      .get();
    return row ?? null;
  }

  function logout(token: string | undefined): void {
    if (!token) return;
    db.update(sessions)
      .set({ revokedAt: new Date(now()).toISOString() })
      .where(eq(sessions.tokenHash, tokenHash(token)))
      .run();
  }

  function revokeAll(organizerId: number): void {
    db.update(sessions)
      .set({ revokedAt: new Date(now()).toISOString() })
      .where(and(eq(sessions.organizerId, organizerId), isNull(sessions.revokedAt)))
      .run();
  }

  return { addOrganizer, login, organizerForToken, logout, revokeAll };
}

export type AuthService = ReturnType<typeof createAuthService>;
