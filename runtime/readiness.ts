/**
 * Readiness as a process's dependencies see it, not only as the process believes: the document
 * store answers a ping, the broker answers, and the broker lists this process's member in every
 * consumer group it runs (a consumer the group dropped — a session that expired, a rebalance it
 * never finished — is not ready even while its own state still says joined). Each check is
 * bounded in time and they run side by side, so a hung store or broker makes `/ready` say so
 * within the bound, naming which.
 */
import type { Admin, GroupDescription } from 'kafkajs';
import { classify } from './errors';
import { readinessOf, type ConsumerRunner } from './consumer-runner';
import { within } from './consumer-lag';
import type { ReadinessReport } from './http';

export interface ReadinessProbeOptions {
  readonly runners: readonly ConsumerRunner[];
  readonly admin: Admin;
  /** A cheap round trip to the document store (e.g. `{ ping: 1 }`). */
  readonly pingStore: () => Promise<unknown>;
  /** Bound of each check; below `/ready`'s own bound (2 s) so the reasons reach the probe. */
  readonly timeoutMs?: number;
}

/** Group states in which a listed member is ready: stable, or in a rebalance it takes part in. */
const memberStates = new Set(['Stable', 'PreparingRebalance', 'CompletingRebalance']);

export function createReadinessProbe(options: ReadinessProbeOptions): () => Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? 1_500;

  const store = async (): Promise<string[]> => {
    try {
      await within(timeoutMs, options.pingStore(), 'the document store');
      return [];
    } catch (error) {
      return [`the document store does not answer a ping: ${classify(error).message}`];
    }
  };

  const broker = async (): Promise<string[]> => {
    const memberships = options.runners.flatMap((runner) => runner.memberships());
    const groups = [...new Set(memberships.map((m) => m.group))];
    let described: GroupDescription[] = [];
    try {
      if (groups.length === 0) await within(timeoutMs, options.admin.describeCluster());
      else ({ groups: described } = await within(timeoutMs, options.admin.describeGroups(groups)));
    } catch (error) {
      return [`the broker does not answer: ${classify(error).message}`];
    }
    // A runner without a member id has not joined, which its own status already says.
    return memberships.flatMap(({ group, memberId }) => {
      if (memberId === undefined) return [];
      const description = described.find((candidate) => candidate.groupId === group);
      const members = description?.members ?? [];
      if (!members.some((member) => member.memberId === memberId))
        return [
          `consumer group ${group}: the broker does not list this process as a member ` +
            `(${members.length} member(s), state ${description?.state ?? 'unknown'})`,
        ];
      // Listed in a rebalance is still a member: rebalances are routine (an instance joins, a
      // deploy rolls), and taking every instance out of service while one happens would empty
      // the service exactly when it scales. A member the group dropped is caught above.
      return description !== undefined && memberStates.has(description.state)
        ? []
        : [`consumer group ${group} is ${description?.state ?? 'unknown'}`];
    });
  };

  return async () => {
    const local = readinessOf(options.runners);
    const [storeReasons, groupReasons] = await Promise.all([store(), broker()]);
    // The process's own view first: it names a crash or a stuck consumer, which the broker cannot.
    const reasons = [...new Set([...local.reasons, ...storeReasons, ...groupReasons])];
    return { ready: reasons.length === 0, reasons };
  };
}
