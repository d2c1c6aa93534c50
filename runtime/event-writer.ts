/**
 * Turns a context's publications into records for its outbox: envelope (metadata), Confluent
 * wire-format value, Kafka key and topic from the topic catalogue, and the headers that filter
 * policies read before decoding.
 */
import { createHash } from 'node:crypto';
import type { EventMetadata } from '@contracts/generated';
import { placementOf, type TopicName, type WriterContext } from '@contracts/topics';
import type { Publication } from './decider';
import type { OutgoingEvent } from './outbox';
import type { Serde } from './serde';

/** Header names every event carries; filter policies match on them without decoding. */
export const eventHeaders = {
  type: 'event-type',
  version: 'event-version',
  id: 'event-id',
  correlationId: 'correlation-id',
  producer: 'producer',
} as const;

/**
 * A UUID derived from a name (the layout of a version-5 UUID over SHA-1): the same cause always
 * yields the same event ids, so a step redone after a crash writes the same events again, and
 * consumers drop the copies by id.
 */
export function derivedUuid(name: string): string {
  const hash = createHash('sha1').update(name).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface Causation {
  /**
   * Id of what caused the events: an event consumed, or a command's id (`place:<Idempotency-Key>`,
   * `auto:pick:<fulfilment>`). Any string: it names the events (their ids are derived from it) and
   * is the aggregate's dedup key, and never goes into the envelope as it is.
   */
  readonly causeId: string;
  /**
   * The envelope's `causationId`: the `eventId` of the event consumed, or null when a command
   * caused the events (a person's HTTP request, or auto-advance and sweeps acting as one). The
   * schema declares it a UUID, and strict readers (fastavro, Java) refuse anything else, so a
   * command's id never goes here: events of one command are linked by `correlationId`.
   */
  readonly causationId: string | null;
  /** The order the events belong to (every event of one order shares it). */
  readonly correlationId: string;
  readonly now: Date;
  /** Distinguishes several writes caused by the same cause (e.g. one per aggregate). */
  readonly scope?: string;
}

export interface EventWriter {
  readonly producer: WriterContext;
  outgoing(publications: readonly Publication[], causation: Causation): OutgoingEvent[];
}

/** `topic` maps a catalogue topic to its name in this deployment (tests prefix a namespace). */
export function createEventWriter(
  serde: Serde,
  producer: WriterContext,
  topic: (name: TopicName) => string = (name) => name,
): EventWriter {
  return {
    producer,
    outgoing(publications, { causeId, causationId, correlationId, now, scope = '' }) {
      return publications.map((publication, index) => {
        const { type, version } = publication;
        const metadata: EventMetadata = {
          eventId: derivedUuid(`${producer}/${scope}/${causeId}/${index}`),
          eventType: type,
          occurredAt: now,
          correlationId,
          causationId,
          producer,
          schemaVersion: version,
        };
        return toOutgoing(serde, publication, metadata, topic);
      });
    },
  };
}

/** Encodes one event with its metadata into an outbox record. */
export function toOutgoing(
  serde: Serde,
  publication: Publication,
  metadata: EventMetadata,
  topic: (name: TopicName) => string = (name) => name,
): OutgoingEvent {
  const { type, version, data } = publication;
  const placement = placementOf(type);
  const key: unknown = Object.getOwnPropertyDescriptor(data, placement.keyField)?.value;
  if (typeof key !== 'string') throw new Error(`${type} has no string key field ${placement.keyField}`);
  const value = serde.encodeEvent({ ...publication, metadata });
  return {
    eventId: metadata.eventId,
    topic: topic(placement.topic),
    key,
    value,
    headers: {
      [eventHeaders.type]: type,
      [eventHeaders.version]: String(version),
      [eventHeaders.id]: metadata.eventId,
      [eventHeaders.correlationId]: metadata.correlationId,
      [eventHeaders.producer]: metadata.producer,
    },
  };
}
