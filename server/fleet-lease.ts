/**
 * Who in the fleet runs the once-per-fleet work (expiry sweeps, purges,
 * scheduled key rotation): the holder of a lease, renewed at each
 * maintenance tick. One instance alone holds it forever, so a single node,
 * or SQLite, uses `soleInstanceLease`.
 */
export interface FleetLease {
  readonly holder: string;
  /** Takes or renews the lease until `now + ttlMs`; `false` while another instance holds it. */
  acquire(now: number, ttlMs: number): Promise<boolean>;
  /** Gives it up (at shutdown), so another instance takes over at once rather than after the ttl. */
  release(): Promise<void>;
}

export const soleInstanceLease: FleetLease = {
  holder: "this-instance",
  acquire: async () => true,
  release: async () => {},
};
