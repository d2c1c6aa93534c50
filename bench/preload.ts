/**
 * Input for the lanes that run one stage alone: representative contract events, encoded and
 * written onto a deployment's topics the way their writing context would (envelope, Confluent
 * wire format, the headers filter policies read), in large batches before the stage starts.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { placementOf, type WriterContext } from '@contracts/topics';
import type { Publication } from '@runtime/decider';
import { toOutgoing } from '@runtime/event-writer';
import type { Serde } from '@runtime/serde';

export const benchOrderId = (run: string, i: number): string =>
  `ORD-20261201-${run}${String(i).padStart(6, '0')}`;

/** A storefront order (v2): two products of the seeded map, dawn delivery to Gangnam. */
export function orderPlaced(orderId: string): Publication {
  return {
    type: 'OrderPlaced',
    version: 2,
    data: {
      orderId,
      customerId: 'CUST-BENCH',
      lines: [
        {
          productCode: 'PRD-BIBIMBAP',
          productName: '비빔밥',
          quantity: 2,
          unitPrice: { amount: '9000.00', currency: 'KRW' },
        },
        {
          productCode: 'PRD-BULGOGI-SET',
          productName: '불고기 세트',
          quantity: 1,
          unitPrice: { amount: '15000.00', currency: 'KRW' },
        },
      ],
      totalAmount: { amount: '33000.00', currency: 'KRW' },
      deliveryAddress: {
        recipientName: '김민지',
        phone: '010-1234-5678',
        postalCode: '06236',
        roadAddress: '서울특별시 강남구 테헤란로 123',
        detailAddress: '5층 501호',
      },
      deliverySlot: {
        startsAt: new Date('2026-12-01T15:00:00.000Z'),
        endsAt: new Date('2026-12-01T22:00:00.000Z'),
      },
      deliveryMemo: '문 앞에 놓아주세요',
      salesChannel: 'APP',
    },
  };
}

const lines = [
  { sku: 'SKU-BULGOGI-300G', quantity: 1 },
  { sku: 'SKU-RICE-210G', quantity: 2 },
];

/** A fulfilment request with nothing cooked to order, as the order->scm adapter writes it. */
export function fulfilmentRequested(fulfilmentId: string): Publication {
  return {
    type: 'FulfilmentRequested',
    version: 2,
    data: {
      fulfilmentId,
      lines,
      destination: {
        contactName: '김민지',
        contactPhone: '010-1234-5678',
        postalCode: '06236',
        addressLine: '서울특별시 강남구 테헤란로 123',
        addressDetail: null,
        courierNote: null,
      },
      deliveryWindow: {
        earliest: new Date('2026-12-01T15:00:00.000Z'),
        latest: new Date('2026-12-01T22:00:00.000Z'),
      },
      dispatchWave: 'WAVE-20261202-DAWN',
      deliveryZone: 'SEOUL-SOUTHEAST',
      cookedToOrderSkus: [],
    },
  };
}

export function stockReserved(fulfilmentId: string): Publication {
  return { type: 'StockReserved', version: 1, data: { fulfilmentId, lines } };
}

/** Encodes and writes `publications` onto `topicOf(catalogue topic)`, 500 records per request. */
export async function preload(
  kafka: Kafka,
  serde: Serde,
  writer: WriterContext,
  publications: readonly Publication[],
  topicOf: (name: string) => string,
): Promise<void> {
  await serde.register({
    types: [...new Set(publications.map((p) => p.type))],
    topicOf: (type) => topicOf(placementOf(type).topic),
  });
  const records = publications.map((publication) => {
    const keyField = placementOf(publication.type).keyField;
    const key = String(Object.getOwnPropertyDescriptor(publication.data, keyField)?.value);
    return toOutgoing(
      serde,
      publication,
      {
        eventId: randomUUID(),
        eventType: publication.type,
        occurredAt: new Date(),
        correlationId: key,
        causationId: null,
        producer: writer,
        schemaVersion: publication.version,
      },
      topicOf,
    );
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let start = 0; start < records.length; start += 500) {
      const chunk = records.slice(start, start + 500);
      const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
      for (const { topic, key, value, headers } of chunk)
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key, value, headers }]);
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}
