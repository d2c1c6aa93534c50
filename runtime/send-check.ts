import { Partitioners, type ICustomPartitioner, type Message, type RecordMetadata } from 'kafkajs';

/**
 * Whether a multi-partition send was acknowledged whole. kafkajs 2.2.4, the latest, can resolve a
 * `sendBatch` that left partitions unsent (tulios/kafkajs#1303, open; the fix proposed in #1798
 * is not merged): its retry after a failed request sends only to brokers that have not answered
 * yet, so when a dead broker's partitions move to a broker that already answered the same send,
 * their messages are never sent, and the send resolves without them. The fault suite's broker
 * loss on a three-node cluster lost orders to it (test/faults/cluster-scenarios.ts).
 *
 * kafkajs's own default partitioner places every message; this one remembers where (the last
 * placement of a message object wins: a retry places it again), so the sender can name the
 * topic-partitions the answer leaves out and send again.
 */
export interface SendCheck {
  /** For `kafka.producer({ createPartitioner })`. */
  readonly createPartitioner: ICustomPartitioner;
  /**
   * The `topic:partition`s that `sent` went to and `answer` does not acknowledge without an
   * error. A message kafkajs never placed (no metadata for its topic yet) counts as unsent.
   */
  unacknowledged(
    sent: readonly { readonly topic: string; readonly messages: readonly Message[] }[],
    answer: readonly RecordMetadata[],
  ): string[];
}

export function createSendCheck(): SendCheck {
  const placed = new WeakMap<Message, number>();
  return {
    createPartitioner() {
      const partition = Partitioners.DefaultPartitioner();
      return (args) => {
        const chosen = partition(args);
        placed.set(args.message, chosen);
        return chosen;
      };
    },
    unacknowledged(sent, answer) {
      const acknowledged = new Set(
        answer
          .filter((entry) => entry.errorCode === 0)
          .map((entry) => `${entry.topicName}:${entry.partition}`),
      );
      const missing = new Set<string>();
      for (const { topic, messages } of sent)
        for (const message of messages) {
          const partition = message.partition ?? placed.get(message);
          const id = `${topic}:${partition ?? '?'}`;
          if (partition === undefined || !acknowledged.has(id)) missing.add(id);
        }
      return [...missing];
    },
  };
}
