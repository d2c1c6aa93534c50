/**
 * Consumer lag as the broker sees it, the way Kafka's own `kafka-consumer-groups --describe`
 * computes it: per group and partition, the log end offset minus the group's committed offset.
 * Read from the broker (the group's committed offsets and each topic's offsets), not from what a
 * consumer fetched, so it stays true when a consumer is stuck, crashed or no longer a member:
 * a group that dropped out keeps its committed offsets while the log grows, and that difference
 * is exactly what people need to see. Two requests per group and one per topic; nothing scans.
 */
import type { Admin } from 'kafkajs';
import type { Gauge } from 'prom-client';
import type { Logger } from './log';

export interface GroupTopics {
  readonly group: string;
  readonly topics: readonly string[];
}

export interface PartitionLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset; null when it has committed nothing on the partition. */
  readonly committed: number | null;
  readonly logEnd: number;
  readonly lag: number;
}

/**
 * One reading of every group's lag. A partition without a committed offset counts from the
 * log start when the group reads from the beginning (what it still has to read) and as 0
 * otherwise; Kafka's tool prints `-` there.
 */
export async function readConsumerLag(
  admin: Admin,
  groups: readonly GroupTopics[],
  { fromBeginning }: { fromBeginning: boolean },
): Promise<PartitionLag[]> {
  const topics = [...new Set(groups.flatMap((group) => group.topics))];
  const offsets = new Map(
    await Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)),
  );
  const perGroup = await Promise.all(
    groups.map(async ({ group, topics: subscribed }) => {
      const committed = await admin.fetchOffsets({ groupId: group, topics: [...subscribed] });
      return committed.flatMap(({ topic, partitions }) =>
        partitions.flatMap(({ partition, offset }): PartitionLag[] => {
          const log = offsets.get(topic)?.find((entry) => entry.partition === partition);
          if (!log) return [];
          const logEnd = Number(log.high);
          const at = Number(offset);
          const position = at >= 0 ? at : fromBeginning ? Number(log.low) : logEnd;
          return [
            {
              group,
              topic,
              partition,
              committed: at >= 0 ? at : null,
              logEnd,
              lag: Math.max(0, logEnd - position),
            },
          ];
        }),
      );
    }),
  );
  return perGroup.flat();
}

export interface LagMonitorOptions {
  readonly admin: Admin;
  /** Asked on every reading: the groups the process runs. */
  readonly groups: () => readonly GroupTopics[];
  readonly fromBeginning: boolean;
  readonly report: (rows: readonly PartitionLag[]) => void;
  readonly log: Logger;
  /** Between readings; default 5 s. */
  readonly intervalMs?: number;
  /** A reading that takes longer is abandoned (the last one stays reported); default 4 s. */
  readonly timeoutMs?: number;
}

export interface LagMonitor {
  start(): void;
  /** One bounded reading now, reported; resolves false when it failed or timed out. */
  refresh(): Promise<boolean>;
  stop(): void;
}

export function createLagMonitor(options: LagMonitorOptions): LagMonitor {
  const intervalMs = options.intervalMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 4_000;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<boolean> | undefined;
  let failing = false;

  const readOnce = async (): Promise<boolean> => {
    try {
      const rows = await within(
        timeoutMs,
        readConsumerLag(options.admin, options.groups(), { fromBeginning: options.fromBeginning }),
      );
      options.report(rows);
      if (failing) options.log.info('consumer lag readable again');
      failing = false;
      return true;
    } catch (error) {
      // Logged once per outage: the broker being away is what readiness reports.
      if (!failing) options.log.warn('could not read consumer lag from the broker', { error });
      failing = true;
      return false;
    }
  };

  const refresh = (): Promise<boolean> => {
    // A slow reading is never overlapped by the next one.
    inFlight ??= readOnce().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  return {
    start() {
      void refresh();
      timer = setInterval(() => void refresh(), intervalMs);
      timer.unref();
    },
    refresh,
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** Sets `scm_consumer_lag` to one reading: every series at once, none left from an earlier one. */
export function reportLag(gauge: Gauge<'group' | 'topic' | 'partition'>) {
  return (rows: readonly PartitionLag[]): void => {
    gauge.reset();
    for (const { group, topic, partition, lag } of rows)
      gauge.set({ group, topic, partition: String(partition) }, lag);
  };
}

/** Rejects when `work` takes longer than `ms`; the work itself runs on. */
export async function within<T>(ms: number, work: Promise<T>, what = 'the broker'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
