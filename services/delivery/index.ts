/**
 * The delivery context (배송·전달완료): its shipment store, its consumer of the fulfilment requests
 * and the warehouse's packed parcels, its dispatchers' API, and (for demos and load) couriers that
 * dispatch and deliver on their own.
 */
import { DeliveryFailureReason, type Destination } from '@contracts/generated';
import { createAggregateStore } from '@runtime/aggregate-store';
import {
  createAggregateConsumer,
  executeAutoSteps,
  startAutoAdvance,
  type ContextModule,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import { createEventWriter } from '@runtime/event-writer';
import { meterStages, observeAll } from '@runtime/journey';
import type { DecodedEvent } from '@runtime/serde';
import { createDeliveryRouter } from './api';
import { decider, shipmentStages, type DeliveryInput, type ShipmentState } from './domain';

/** What this context needs of the platform's settings (the platform's config has more). */
export interface DeliveryContextConfig {
  readonly bodyLimitBytes: number;
  /** Shipments move on by themselves after this delay; off when null. */
  readonly autoAdvance: { readonly delayMs: number } | null;
}

export const deliveryGroup = 'delivery';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const deliverySubscription = {
  group: deliveryGroup,
  topics: ['scm.fulfilment-requests', 'scm.warehouse-events'],
} as const satisfies TopicSubscription;

/** The inputs that come from other contexts' events: each names its fulfilment. */
type ConsumedInput = Extract<DeliveryInput, { readonly fulfilmentId: string }>;

/** Copied field by field: the stored state holds the contract's fields and nothing else. */
const destinationOf = (destination: Destination): Destination => ({
  contactName: destination.contactName,
  contactPhone: destination.contactPhone,
  postalCode: destination.postalCode,
  addressLine: destination.addressLine,
  addressDetail: destination.addressDetail,
  courierNote: destination.courierNote,
});

/** A consumed event as the domain's input; v1 events carry no wave or zone. */
function inputOf(event: DecodedEvent): ConsumedInput | undefined {
  switch (event.type) {
    case 'FulfilmentRequested': {
      const { fulfilmentId, destination, deliveryWindow } = event.data;
      return {
        kind: 'FulfilmentRequested',
        fulfilmentId,
        destination: destinationOf(destination),
        deliveryWindow: {
          earliest: deliveryWindow.earliest.toISOString(),
          latest: deliveryWindow.latest.toISOString(),
        },
        dispatchWave: event.version === 2 ? event.data.dispatchWave : null,
        deliveryZone: event.version === 2 ? event.data.deliveryZone : null,
        requestedAt: event.metadata.occurredAt.toISOString(),
      };
    }
    case 'FulfilmentDestinationChanged':
      return {
        kind: 'DestinationChanged',
        fulfilmentId: event.data.fulfilmentId,
        destination: destinationOf(event.data.destination),
        deliveryZone: event.version === 2 ? event.data.deliveryZone : null,
      };
    case 'FulfilmentCancelled':
      return {
        kind: 'FulfilmentCancelled',
        fulfilmentId: event.data.fulfilmentId,
        reason: event.data.reason,
      };
    case 'OrderPacked':
      return {
        kind: 'ParcelPacked',
        fulfilmentId: event.data.fulfilmentId,
        parcelCount: event.data.parcelCount,
        packedAt: event.metadata.occurredAt.toISOString(),
      };
    default:
      return undefined;
  }
}

export async function createDeliveryContext(
  services: PlatformServices,
  config: DeliveryContextConfig,
): Promise<ContextModule> {
  const log = services.log.child({ context: 'delivery' });
  const { journey } = services.metrics;
  for (const reason of Object.values(DeliveryFailureReason)) journey.deliveryFailures.inc({ reason }, 0);
  const store = await createAggregateStore({
    db: services.db,
    name: 'delivery_shipments',
    // Lists and auto-advance select by status.
    indexes: [{ 'state.status': 1 }],
    decider,
    writer: createEventWriter(services.serde, 'delivery', services.topic),
    onWritten: services.relayWrite,
    onChanged: () => autoAdvance?.wake(),
    onTransition: observeAll<ShipmentState>(
      meterStages(journey, 'delivery', shipmentStages, ['dispatch', 'transit']),
      (before, after) => {
        if (before?.failure == null && after.failure !== null)
          journey.deliveryFailures.inc({ reason: after.failure.reason });
      },
    ),
  });

  const consumer = createAggregateConsumer(services, {
    ...deliverySubscription,
    eventTypes: ['FulfilmentRequested', 'FulfilmentDestinationChanged', 'FulfilmentCancelled', 'OrderPacked'],
    store,
    route(event) {
      const input = inputOf(event);
      return input === undefined ? undefined : { aggregateId: input.fulfilmentId, input };
    },
  });

  const router = createDeliveryRouter({ store, now: services.now, bodyLimitBytes: config.bodyLimitBytes });

  /**
   * One round of the automatic couriers: dispatch what has been ready for `delayMs` (since the
   * later of packing and request, both ISO strings in UTC, so they compare as text), deliver what
   * has been on the road as long. Each step's cause names the shipment, so a step repeated by a
   * second instance or the next round is a duplicate, not a second courier.
   */
  async function advance(delayMs: number): Promise<number> {
    const now = services.now();
    const due = new Date(now.getTime() - delayMs).toISOString();
    const [ready, onTheRoad] = await Promise.all([
      store.list(
        {
          'state.status': 'ready',
          'state.packedAt': { $lte: due },
          'state.requestedAt': { $lte: due },
        },
        { order: 'oldest' },
      ),
      store.list({ 'state.status': 'dispatched', 'state.dispatchedAt': { $lte: due } }, { order: 'oldest' }),
    ]);
    const steps = [
      ...ready.map((shipment) => ({
        step: 'dispatch',
        fulfilmentId: shipment.fulfilmentId,
        // The automatic courier arrives when the next step delivers: say so to the customer.
        input: {
          kind: 'Dispatch',
          courierId: 'AUTO-COURIER',
          estimatedArrivalAt: new Date(now.getTime() + delayMs).toISOString(),
        } satisfies DeliveryInput,
      })),
      ...onTheRoad.map((shipment) => ({
        step: 'deliver',
        fulfilmentId: shipment.fulfilmentId,
        input: { kind: 'Deliver', proofOfDelivery: 'auto: left at the door' } satisfies DeliveryInput,
      })),
    ];
    const executions = await executeAutoSteps(store, steps, now);
    // A refusal here means a person (or a cancellation) got there first: nothing to do.
    const advanced = executions.filter((execution) => execution.kind === 'changed').length;
    return advanced;
  }

  let autoAdvance: ReturnType<typeof startAutoAdvance> | undefined;

  return {
    name: 'delivery',
    routers: [router],
    runners: [consumer],
    outboxes: [store.outbox],
    async start() {
      if (config.autoAdvance === null) return;
      const { delayMs } = config.autoAdvance;
      autoAdvance = startAutoAdvance({
        name: 'delivery',
        delayMs,
        log,
        step: () => advance(delayMs),
      });
    },
    async stop() {
      await autoAdvance?.stop();
      autoAdvance = undefined;
    },
  };
}
