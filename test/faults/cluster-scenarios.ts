/**
 * Broker losses on a three-node KRaft cluster (each node a broker and a controller), what a
 * single broker cannot show: the platform rides through a node's death without waiting for it.
 * A node is SIGKILLed under load; the cluster fences it and moves its partitions' leadership to
 * the two nodes left (min.insync.replicas 2 of 3 replicas: acks=all writes go on); every group
 * catches up while it is still down; then `up` restarts it, as an operator would, and it rejoins
 * every partition's in-sync replicas. The checker judges the run as for any fault.
 */
import type { KafkaNode } from '@infra/stack/config';
import { waitFor } from '@test/harness/wait';
import { isRunning } from '@infra/stack/processes';
import { pathsOf, status } from '@infra/stack/stack';
import type { FaultPlatform, PartitionState } from './platform';
import type { Scenario } from './run';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls until it holds, errors counting as not yet (test/harness/wait.ts): a client may meet the
 * dead node, and under load Kafka's quorum tool (a JVM start) may fail once.
 */
const until = <T>(what: string, probe: () => Promise<T | false>, timeoutMs: number): Promise<T> =>
  waitFor(what, probe, { timeoutMs, intervalMs: 250 });

const seconds = (since: number): number => (Date.now() - since) / 1000;

/** Which node a scenario kills. */
type Victim = 'a broker that does not lead the quorum' | 'the quorum leader';

const ledBy = (partitions: readonly PartitionState[], node: KafkaNode): number =>
  partitions.filter((partition) => partition.leader === node.id).length;

/** The node to kill, with what the cluster looks like just before. */
async function pickVictim(
  platform: FaultPlatform,
  victim: Victim,
): Promise<{ node: KafkaNode; quorumLeader: KafkaNode; partitions: PartitionState[] }> {
  const quorumLeader = await until('the quorum leader', () => platform.quorumLeader(), 90_000);
  const partitions = await until('the partitions', () => platform.partitions(), 90_000);
  if (victim === 'the quorum leader') return { node: quorumLeader, quorumLeader, partitions };
  // The follower that leads the most partitions: the loss that moves the most leadership.
  const [most] = platform
    .kafkaNodes()
    .filter((node) => node.id !== quorumLeader.id)
    .sort((a, b) => ledBy(partitions, b) - ledBy(partitions, a));
  if (most === undefined) throw new Error('the cluster has no node beside the quorum leader');
  return { node: most, quorumLeader, partitions };
}

/**
 * SIGKILLs `victim` a while into the load, keeps it down at least `downMs`, and brings it back.
 * Recovery counts from the kill to every group caught up, with the node still down.
 */
export function nodeLoss(name: string, victim: Victim, downMs: number): Scenario {
  return {
    name,
    async inject({ platform, say }) {
      await sleep(2_000);
      const { node, quorumLeader, partitions: before } = await pickVictim(platform, victim);
      say(
        `SIGKILL ${node.name}, ${victim} (it leads ${ledBy(before, node)} of ${before.length} partitions; ` +
          `the quorum leader is ${quorumLeader.name})`,
      );
      const killedAt = Date.now();
      platform.signal(node.name, 'SIGKILL');
      const problems: string[] = [];
      await until(
        `${node.name} to be gone`,
        async () => !isRunning(pathsOf(platform.stack), node.name),
        10_000,
      );
      const shown = (await status(platform.stack)).find((row) => row.name === node.name)?.state;
      if (shown !== 'crashed') problems.push(`\`status\` shows the killed ${node.name} as ${shown}`);

      // The cluster fences the dead node (broker.session.timeout.ms, 9 s) and elects new leaders.
      await until(
        `every partition to be led by a live node`,
        async () => (await platform.partitions()).every((p) => p.leader >= 0 && p.leader !== node.id),
        90_000,
      );
      const failover = seconds(killedAt);
      await until(
        'every group to catch up with a node down',
        async () => (await platform.lag()) === 0,
        120_000,
      );
      const recoverySeconds = seconds(killedAt);
      // The two nodes left elect a new quorum leader if the dead one led it (within seconds).
      let newLeader: KafkaNode | undefined;
      await until(
        'the quorum to be led by a live node',
        async () => (newLeader = await platform.quorumLeader()).id !== node.id,
        60_000,
      ).catch(() => undefined);
      say(
        `partitions led by live nodes ${failover.toFixed(1)} s after the kill; quorum led by ${newLeader?.name ?? 'nobody'}; ` +
          `every group caught up ${recoverySeconds.toFixed(1)} s after the kill`,
      );
      await sleep(Math.max(0, downMs - (Date.now() - killedAt)));

      if (newLeader === undefined || newLeader.id === node.id)
        problems.push(`the quorum had no live leader a minute after ${node.name}'s death`);
      const restartedAt = Date.now();
      const lines = await platform.restart('kafka');
      // `up` restarts the dead node and leaves the live ones alone.
      if (!lines.includes(`${node.name}: found dead (crashed or killed); restarting`))
        problems.push(`\`up\` did not restart ${node.name}: ${lines.join(' | ')}`);
      for (const other of platform.kafkaNodes().filter((candidate) => candidate.id !== node.id))
        if (!lines.includes(`${other.name}: already running at 127.0.0.1:${other.port}`))
          problems.push(`\`up\` touched ${other.name}, which was running`);
      await until(
        `${node.name} back in every partition's in-sync replicas`,
        async () => (await platform.partitions()).every((p) => p.isr.includes(node.id)),
        120_000,
      );
      say(
        `${node.name} back in every in-sync replica set ${seconds(restartedAt).toFixed(1)} s after its restart`,
      );
      return { recoverySeconds, problems };
    },
  };
}

export const brokerLoss = nodeLoss(
  'cluster: a broker SIGKILLed under load, restarted',
  'a broker that does not lead the quorum',
  15_000,
);

/** A combined node: its death is a broker's loss and the controller quorum's at once. */
export const quorumLeaderLoss = nodeLoss(
  'cluster: the controller quorum leader SIGKILLed, restarted',
  'the quorum leader',
  15_000,
);

export const clusterScenarios: readonly Scenario[] = [brokerLoss, quorumLeaderLoss];
