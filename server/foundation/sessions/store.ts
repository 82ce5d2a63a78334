/** Owner sessions: opened by login, carried as a cookie or a Bearer token. */

export interface SessionRecord {
  id: string;
  userId: string;
  /** SHA-256 of the session token; the token itself is never stored. */
  tokenHash: string;
  /** SHA-256 of the CSRF token bound to this session. */
  csrfHash: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  findByTokenHash(tokenHash: string): Promise<SessionRecord | null>;
  delete(id: string): Promise<void>;
  deleteExpired(now: number): Promise<number>;
}
