import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import type { PlatformError } from './errors';

/**
 * Dead-letter records keep the original key, value and headers byte for byte, and add
 * diagnostic headers. Where Spring Kafka's DeadLetterPublishingRecoverer has a header for
 * the same fact we use its name, so existing tooling reads ours; values are UTF-8 text
 * (Spring writes partition and offset as binary numbers, text is readable with any tool).
 */
export const deadLetterHeaders = {
  originalTopic: 'kafka_dlt-original-topic',
  originalPartition: 'kafka_dlt-original-partition',
  originalOffset: 'kafka_dlt-original-offset',
  originalTimestamp: 'kafka_dlt-original-timestamp',
  originalConsumerGroup: 'kafka_dlt-original-consumer-group',
  exceptionClass: 'kafka_dlt-exception-fqcn',
  exceptionMessage: 'kafka_dlt-exception-message',
  // Ours, where Spring has no equivalent.
  failureCategory: 'scm_dlt-failure-category',
  errorCode: 'scm_dlt-error-code',
  schemaId: 'scm_dlt-schema-id',
  attempts: 'scm_dlt-attempts',
  deadLetteredAt: 'scm_dlt-dead-lettered-at',
} as const;

/** Set on a replayed dead letter: the one consumer group that should apply it again. */
export const replayedForGroupHeader = 'scm_dlt-replayed-for-group';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  group: string;
  error: PlatformError;
  attempts: number;
}

/** The Confluent wire format's schema id, when the value carries one. */
export function schemaIdOf(value: Buffer | null): number | undefined {
  return value && value.length >= 5 && value[0] === 0 ? value.readInt32BE(1) : undefined;
}

export function deadLetterRecord(
  letter: DeadLetter,
  now: Date,
): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  const { message, error } = letter;
  const schemaId = schemaIdOf(message.value);
  const diagnostic: IHeaders = {
    [deadLetterHeaders.originalTopic]: letter.topic,
    [deadLetterHeaders.originalPartition]: String(letter.partition),
    [deadLetterHeaders.originalOffset]: message.offset,
    [deadLetterHeaders.originalTimestamp]: message.timestamp,
    [deadLetterHeaders.originalConsumerGroup]: letter.group,
    [deadLetterHeaders.exceptionClass]: error.name,
    [deadLetterHeaders.exceptionMessage]: error.message.slice(0, 2_000),
    [deadLetterHeaders.failureCategory]: error.category,
    [deadLetterHeaders.errorCode]: error.code,
    [deadLetterHeaders.attempts]: String(letter.attempts),
    [deadLetterHeaders.deadLetteredAt]: now.toISOString(),
  };
  if (schemaId !== undefined) diagnostic[deadLetterHeaders.schemaId] = String(schemaId);
  return { key: message.key, value: message.value, headers: { ...message.headers, ...diagnostic } };
}

/** Publishes dead letters with acks from all in-sync replicas before the offset moves on. */
export function createDeadLetterPublisher(producer: Producer, topicFor: (group: string) => string) {
  return async (letter: DeadLetter): Promise<string> => {
    const topic = topicFor(letter.group);
    await producer.send({ topic, acks: -1, messages: [deadLetterRecord(letter, new Date())] });
    return topic;
  };
}

export type PublishDeadLetter = ReturnType<typeof createDeadLetterPublisher>;
