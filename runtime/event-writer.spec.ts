import {
  integrationSection,
  documentedEventHeaders,
  documentedReplayHeader,
} from '@contracts/emit-integration';
import { uuidPattern } from '@contracts/logical-types';
import { topics } from '@contracts/topics';
import { deadLetterHeaders, replayedForGroupHeader } from './dead-letters';
import type { Publication } from './decider';
import { createEventWriter, derivedUuid, eventHeaders } from './event-writer';
import { RegistryClient, Serde } from './serde';

function writerOf() {
  // No registry: ids are adopted as if another process had registered them.
  const serde = new Serde({ registry: new RegistryClient({ url: 'http://registry.invalid' }) });
  serde.adopt([
    { type: 'StockReserved', version: 1, subject: 's', id: 1 },
    { type: 'StockReceived', version: 1, subject: 's', id: 2 },
  ]);
  return { serde, writer: createEventWriter(serde, 'inventory') };
}

const reserved: Publication = {
  type: 'StockReserved',
  version: 1,
  data: { fulfilmentId: 'ORD-20261201-AAAA0001', lines: [{ sku: 'SKU-RICE-210G', quantity: 1 }] },
};
const now = new Date('2026-12-01T09:00:00.000Z');

describe('the event writer', () => {
  it('derives event ids from the cause: UUIDs, the same for the same cause', () => {
    const { writer } = writerOf();
    const causation = {
      causeId: 'auto:pick:ORD-20261201-AAAA0001',
      causationId: null,
      correlationId: 'x',
      now,
    };
    const [first] = writer.outgoing([reserved], causation);
    const [again] = writer.outgoing([reserved], causation);
    expect(first?.eventId).toMatch(uuidPattern);
    expect(again?.eventId).toBe(first?.eventId);
    expect(derivedUuid('a')).not.toBe(derivedUuid('b'));
  });

  it('writes the causing event as causationId, and null for a command, never the command id', async () => {
    const { serde, writer } = writerOf();
    const cause = '0b6f3c1e-8a4d-4c1b-9f7e-000000000001';
    const [byEvent] = writer.outgoing([reserved], {
      causeId: cause,
      causationId: cause,
      correlationId: 'x',
      now,
    });
    const [byCommand] = writer.outgoing([reserved], {
      causeId: 'receipt:SKU-RICE-210G:idem-key-0001',
      causationId: null,
      correlationId: 'x',
      now,
    });
    expect((await serde.decode(byEvent!.value)).metadata.causationId).toBe(cause);
    expect((await serde.decode(byCommand!.value)).metadata.causationId).toBeNull();
  });
});

describe('the integrators’ documentation (docs/events.md)', () => {
  it('names the headers the runtime writes and reads', () => {
    expect(documentedEventHeaders).toEqual(Object.values(eventHeaders));
    expect(documentedReplayHeader).toBe(replayedForGroupHeader);
    const text = integrationSection(topics).join('\n');
    for (const name of [deadLetterHeaders.errorCode, deadLetterHeaders.exceptionMessage])
      expect(text).toContain(name);
  });
});
