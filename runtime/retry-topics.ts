import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { PlatformError } from './errors';

/**
 * Non-blocking retries: a message whose handler fails for good does not hold its partition
 * while it waits; it is re-published to `<group>.retry.<n>` with the time it is due, and a
 * companion consumer (group `<group>.retry`) applies it again once that time has come. After
 * the last level it goes to the dead-letter topic like any other permanent failure. For
 * failures that time can cure (reference data that has not arrived yet); bytes that cannot
 * be decoded skip the retries.
 */
export const retryHeaders = {
  level: 'scm_retry-level',
  dueAt: 'scm_retry-due-at',
  originalTopic: 'scm_retry-original-topic',
  originalPartition: 'scm_retry-original-partition',
  originalOffset: 'scm_retry-original-offset',
  lastErrorCode: 'scm_retry-last-error-code',
} as const;

export const retryTopicName = (group: string, level: number): string => `${group}.retry.${level}`;
export const retryGroupName = (group: string): string => `${group}.retry`;

export function retryTopicNames(group: string, delaysMs: readonly number[]): string[] {
  return delaysMs.map((_, index) => retryTopicName(group, index + 1));
}

const text = (headers: IHeaders | undefined, name: string): string | undefined => {
  const value = headers?.[name];
  return value === undefined ? undefined : value.toString();
};

/** 0 for a message from its original topic, n for one read from `<group>.retry.<n>`. */
export const retryLevelOf = (message: KafkaMessage): number =>
  Number(text(message.headers, retryHeaders.level) ?? 0);

export const dueAtOf = (message: KafkaMessage): number =>
  Number(text(message.headers, retryHeaders.dueAt) ?? 0);

/** Where the message was first consumed: its own coordinates on an original topic. */
export function originOf(message: KafkaMessage, topic: string, partition: number) {
  return {
    topic: text(message.headers, retryHeaders.originalTopic) ?? topic,
    partition: Number(text(message.headers, retryHeaders.originalPartition) ?? partition),
    offset: text(message.headers, retryHeaders.originalOffset) ?? message.offset,
  };
}

/** The record for the next retry level: the original bytes, and when to try again. */
export function retryRecord(
  message: KafkaMessage,
  origin: { topic: string; partition: number; offset: string },
  level: number,
  delayMs: number,
  error: PlatformError,
  now: number,
): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [retryHeaders.level]: String(level),
      [retryHeaders.dueAt]: String(now + delayMs),
      [retryHeaders.originalTopic]: origin.topic,
      [retryHeaders.originalPartition]: String(origin.partition),
      [retryHeaders.originalOffset]: origin.offset,
      [retryHeaders.lastErrorCode]: error.code,
    },
  };
}
