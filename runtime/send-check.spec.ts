import type { Message, PartitionMetadata, RecordMetadata } from 'kafkajs';
import { createSendCheck } from './send-check';

const partitionMetadata: PartitionMetadata[] = Array.from({ length: 6 }, (_, partitionId) => ({
  partitionId,
  leader: 1 + (partitionId % 3),
  replicas: [1, 2, 3],
  isr: [1, 2, 3],
  offlineReplicas: [],
  partitionErrorCode: 0,
}));

const ack = (topicName: string, partition: number, errorCode = 0): RecordMetadata => ({
  topicName,
  partition,
  errorCode,
});

describe('the send check', () => {
  // What kafkajs does with a batch: places every message with the producer's partitioner.
  const place = (check: ReturnType<typeof createSendCheck>, topic: string, messages: Message[]): number[] => {
    const partition = check.createPartitioner();
    return messages.map((message) => partition({ topic, partitionMetadata, message }));
  };
  const messages: Message[] = ['ORD-1', 'ORD-2', 'ORD-3', 'ORD-4', 'ORD-5', 'ORD-6', 'ORD-7'].map((key) => ({
    key,
    value: 'x',
  }));

  it('places messages as kafkajs’s default partitioner does (Java-compatible murmur2)', () => {
    const check = createSendCheck();
    const placed = place(check, 'order.events', messages);
    expect(placed.every((p) => Number.isInteger(p) && p >= 0 && p < 6)).toBe(true);
    expect(place(createSendCheck(), 'order.events', messages)).toEqual(placed);
  });

  it('finds nothing missing when every partition a batch went to is acknowledged', () => {
    const check = createSendCheck();
    const placed = place(check, 'order.events', messages);
    const answer = [...new Set(placed)].map((p) => ack('order.events', p));
    expect(check.unacknowledged([{ topic: 'order.events', messages }], answer)).toEqual([]);
  });

  it('names a partition the answer leaves out, or acknowledges with an error', () => {
    const check = createSendCheck();
    const placed = place(check, 'order.events', messages);
    const [left, failed, ...rest] = [...new Set(placed)];
    expect(left).toBeDefined();
    expect(failed).toBeDefined();
    const answer = [ack('order.events', Number(failed), 6), ...rest.map((p) => ack('order.events', p))];
    expect(check.unacknowledged([{ topic: 'order.events', messages }], answer).sort()).toEqual(
      [`order.events:${left}`, `order.events:${failed}`].sort(),
    );
  });

  it('counts a message kafkajs never placed as unsent, and takes an explicit partition as given', () => {
    const check = createSendCheck();
    const unplaced: Message = { key: 'ORD-9', value: 'x' };
    const pinned: Message = { key: 'ORD-10', value: 'x', partition: 4 };
    expect(
      check.unacknowledged(
        [
          { topic: 'scm.delivery-events', messages: [unplaced] },
          { topic: 'order.events', messages: [pinned] },
        ],
        [ack('order.events', 4)],
      ),
    ).toEqual(['scm.delivery-events:?']);
  });
});
