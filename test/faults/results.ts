/**
 * One row of the fault suite's results table: what `npm run chaos` writes and the README shows.
 * A scenario passes when nothing acknowledged was lost, no effect happened twice, no key's
 * events came out of order, and the dead letters are exactly the poison it injected.
 */
export interface ScenarioResult {
  readonly scenario: string;
  readonly seed: number;
  /** Acknowledged inputs the checker followed (orders, receipts, injected records, requests). */
  readonly inputs: number;
  /** Acknowledged inputs that never reached their correct final state. */
  readonly lost: number;
  /** Effects applied more than once (a reservation, a release, a shipment, a status). */
  readonly duplicateEffects: number;
  /** Keys whose events came out in an order their lifecycle does not allow. */
  readonly orderViolations: number;
  readonly deadLetters: { readonly seen: number; readonly injected: number };
  /** From the fault's end to the platform being caught up again; null when nothing was down. */
  readonly recoverySeconds: number | null;
  /** What the checker found, one line each (empty when it passed). */
  readonly problems: readonly string[];
}

export const passed = (result: ScenarioResult): boolean =>
  result.lost === 0 &&
  result.duplicateEffects === 0 &&
  result.orderViolations === 0 &&
  result.deadLetters.seen === result.deadLetters.injected &&
  result.problems.length === 0;
