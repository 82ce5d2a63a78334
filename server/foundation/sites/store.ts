/** Sites: relying parties that accept agent logins. */

export type SiteStatus = "ACTIVE" | "SUSPENDED";

export interface SiteRecord {
  id: string;
  ownerId: string;
  displayName: string;
  /** The site's web origin (`https://shop.example`), or null. */
  origin: string | null;
  tokenHash: string;
  /** The floor of the adaptive difficulty, as LIME's clients read and set it. */
  powDifficulty: number;
  /** The ceiling; null for the default (difficulty-policy.ts `defaultCeiling`). */
  powDifficultyMax: number | null;
  /** Login requests per minute before the difficulty rises; null for the default. */
  powSurgePerMinute: number | null;
  status: SiteStatus;
  createdAt: number;
  updatedAt: number;
}

export interface SitePatch {
  displayName?: string;
  origin?: string | null;
  powDifficulty?: number;
  /** null returns to the default. */
  powDifficultyMax?: number | null;
  /** null returns to the default. */
  powSurgePerMinute?: number | null;
}

export interface SiteStore {
  create(site: SiteRecord): Promise<void>;
  findById(id: string): Promise<SiteRecord | null>;
  findByTokenHash(tokenHash: string): Promise<SiteRecord | null>;
  listByOwner(ownerId: string): Promise<SiteRecord[]>;
  /** Replaces the token hash; the old token stops working in the same write. */
  rotateToken(id: string, ownerId: string, tokenHash: string, at: number): Promise<SiteRecord | null>;
  setStatus(id: string, ownerId: string, status: SiteStatus, at: number): Promise<SiteRecord | null>;
  update(id: string, ownerId: string, patch: SitePatch, at: number): Promise<SiteRecord | null>;
  /** Deletes the site with its login requests and outcomes. */
  delete(id: string, ownerId: string): Promise<boolean>;
}
