/**
 * One reservation attempt at a time per fulfilment, across instances: a lease, granted by the
 * aggregate store's optimistic concurrency (two attempts cannot both append the grant).
 *
 * Why: attempts run from the fulfilment's own partition (a request) but also from a change of
 * stock (a receipt, a count, a cancellation's release) or the start-up retry, on any instance.
 * Two overlapping attempts could each see the other's holds as their own, and one's releases
 * undo holds the other then reports as AllHeld. An attempt that finds the lease taken skips:
 * the holder's outcome stands, and the skipped one is tried again a little later (backing off
 * past `ttlMs`), in case the holder decided before the stock that woke it. A lease outlives a
 * crashed holder by `ttlMs` at most.
 */
import { accepted, refused, unchanged, type Decider } from '@runtime/decider';

export interface Lease {
  readonly holder: string | null;
  /** ISO time after which the lease is free even if its holder never ended it. */
  readonly expiresAt: string | null;
}

export type LeaseInput =
  | { readonly kind: 'Begin'; readonly attemptId: string; readonly ttlMs: number }
  | { readonly kind: 'End'; readonly attemptId: string };

export type LeaseFact =
  | { readonly type: 'Began'; readonly attemptId: string; readonly expiresAt: string }
  | { readonly type: 'Ended'; readonly attemptId: string };

export const leaseDecider: Decider<Lease, LeaseInput, LeaseFact> = {
  decide(input, lease, now) {
    switch (input.kind) {
      case 'Begin': {
        const taken =
          lease?.holder != null &&
          lease.holder !== input.attemptId &&
          lease.expiresAt !== null &&
          lease.expiresAt > now.toISOString();
        if (taken) return refused('CONFLICT', `an attempt (${lease.holder}) is in progress`);
        const expiresAt = new Date(now.getTime() + input.ttlMs).toISOString();
        return accepted<LeaseFact>({ type: 'Began', attemptId: input.attemptId, expiresAt });
      }
      case 'End':
        return lease?.holder === input.attemptId
          ? accepted<LeaseFact>({ type: 'Ended', attemptId: input.attemptId })
          : unchanged;
      default: {
        const unreachable: never = input;
        return unreachable;
      }
    }
  },
  evolve: (_lease, fact) =>
    fact.type === 'Began'
      ? { holder: fact.attemptId, expiresAt: fact.expiresAt }
      : { holder: null, expiresAt: null },
  publish: () => [],
};
