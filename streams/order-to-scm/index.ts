/**
 * The order->scm anti-corruption adapter as a running stream: its own consumer group on
 * `order.events`, a filter policy that keeps only what SCM needs, the pure translation into
 * publications, per order the source events it relayed (dedup) and the outbox (the runtime's
 * relay decider), and the map it owns. An order it cannot translate is recorded as FulfilmentRejected (so the customer sees
 * 주문보류) and its source event goes to the dead-letter topic with the reason; once an operator
 * has fixed the map, replaying the letter translates it.
 */
import Router from '@koa/router';
import { randomUUID } from 'node:crypto';
import type { EventType } from '@contracts/generated';
import { createAggregateStore } from '@runtime/aggregate-store';
import {
  createEventConsumer,
  type ContextModule,
  type EventOutcome,
  type PlatformServices,
  type TopicSubscription,
} from '@runtime/context';
import { accepted, refused, relayDecider, unchanged, type Decider } from '@runtime/decider';
import { errorCodes, permanent, ProblemError } from '@runtime/errors';
import { createEventWriter } from '@runtime/event-writer';
import type { DecodedEvent } from '@runtime/serde';
import { readJsonBody } from '@runtime/http';
import { guard, type AccessTable } from '@runtime/auth';
import { applyMappingUpdate, seedMapping, type Mapping, type MappingUpdate } from './mapping';
import { parseMappingUpdate } from './mapping-update';
import { producer, rejectionEvent, translateOrderEvent, type TranslatableOrderEvent } from './translate';

export const orderScmAdapterGroup = 'order-scm-adapter';
/** What this context consumes: the broker's ACLs are derived from it (platform/kafka-acls.ts). */
export const orderScmAdapterSubscription = {
  group: orderScmAdapterGroup,
  topics: ['order.events'],
} as const satisfies TopicSubscription;

/** The order events SCM needs: the filter policy, and the translation's input. */
const translatableTypes = ['OrderPlaced', 'OrderCancelled', 'DeliveryAddressChanged'] as const;
const isTranslatable = (event: { readonly type: EventType }): event is TranslatableOrderEvent =>
  (translatableTypes as readonly EventType[]).includes(event.type);

/** The map as an aggregate: seeded, changed only by valid updates, every revision kept. */
const mappingDecider: Decider<
  Mapping,
  MappingUpdate,
  { readonly type: 'MappingChanged'; readonly mapping: Mapping }
> = {
  decide(update, state) {
    const outcome = applyMappingUpdate(state ?? seedMapping, update);
    if (outcome.kind === 'refused') return refused('CONFLICT', outcome.reason);
    return JSON.stringify(outcome.mapping) ===
      JSON.stringify({ ...(state ?? seedMapping), revision: outcome.mapping.revision })
      ? unchanged
      : accepted({ type: 'MappingChanged', mapping: outcome.mapping });
  },
  evolve: (_state, fact) => fact.mapping,
  publish: () => [],
};

/** Who may call each route (the map decides how every order is translated: operators only). */
export const mappingAccess = {
  'GET /adapters/order-scm/mapping': ['admin'],
  'POST /adapters/order-scm/mapping/updates': ['admin'],
} as const satisfies AccessTable;

export interface OrderScmAdapterConfig {
  /** How often an instance re-reads the map (updates made through another instance). */
  readonly mappingRefreshMs: number;
  readonly bodyLimitBytes: number;
}

export async function createOrderScmAdapter(
  services: PlatformServices,
  config: OrderScmAdapterConfig,
): Promise<ContextModule> {
  const writer = createEventWriter(services.serde, producer, services.topic);
  const fulfilments = await createAggregateStore({
    db: services.db,
    name: 'order_scm_adapter_fulfilments',
    decider: relayDecider,
    writer,
    onWritten: services.relayWrite,
  });
  const mappings = await createAggregateStore({
    db: services.db,
    name: 'order_scm_adapter_mapping',
    decider: mappingDecider,
    writer,
  });
  const mappingId = 'product-sku-slot-zone';
  let mapping: Mapping = (await mappings.load(mappingId))?.state ?? seedMapping;
  const refreshMapping = async (): Promise<Mapping> => {
    mapping = (await mappings.load(mappingId))?.state ?? seedMapping;
    return mapping;
  };
  let refresher: NodeJS.Timeout | undefined;
  const log = services.log.child({ context: 'order-scm-adapter' });

  // Ids and times of the written events are set by the event writer from the cause.
  const translate = (event: TranslatableOrderEvent, current: Mapping) =>
    translateOrderEvent(event, { mapping: current });

  /** One event, the rejection path included: a rejected order is recorded, then dead-lettered. */
  async function translateOne(event: DecodedEvent): Promise<EventOutcome> {
    if (!isTranslatable(event)) return 'ignored';
    let translation = translate(event, mapping);
    // Before rejecting, make sure the map is current: another instance may just have fixed it.
    if (translation.kind === 'rejected') translation = translate(event, await refreshMapping());
    const orderId =
      translation.kind === 'rejected' ? translation.orderId : translation.event.data.fulfilmentId;
    const now = services.now();
    if (translation.kind !== 'rejected') {
      const execution = await fulfilments.execute(orderId, [translation.event], {
        causeId: event.metadata.eventId,
        causationId: event.metadata.eventId,
        correlationId: orderId,
        now,
      });
      return execution.kind === 'duplicate' ? 'duplicate' : 'applied';
    }
    // Recorded under its own cause, so that the same event replayed after a fix of the map is
    // not mistaken for a duplicate, and translates.
    await fulfilments.execute(orderId, [rejectionEvent(translation)], {
      causeId: `rejected:${event.metadata.eventId}`,
      causationId: event.metadata.eventId,
      correlationId: orderId,
      now,
    });
    log.warn('order rejected', {
      orderId,
      reason: translation.reason,
      field: translation.field,
      detail: translation.detail,
    });
    throw permanent(
      errorCodes.INVALID_CONTENT,
      `${translation.reason} at ${translation.field}: ${translation.detail} (order ${orderId}, map revision ${mapping.revision})`,
      undefined,
      { reason: translation.reason, field: translation.field, detail: translation.detail },
    );
  }

  const consumer = createEventConsumer(services, {
    ...orderScmAdapterSubscription,
    // The filter policy: reviews and coupons never reach the adapter (counted as filtered).
    eventTypes: translatableTypes,
    /**
     * A run of events at once when every one translates (the usual case): one read and one
     * bulk write for the run. With a rejection among them, one at a time, so that the
     * rejected one is recorded and dead-lettered and the others go on.
     */
    async handleAll(batch) {
      const events = batch.map((received) => received.event);
      const translated = events.flatMap((event) =>
        isTranslatable(event) ? [{ event, translation: translate(event, mapping) }] : [],
      );
      if (translated.some(({ translation }) => translation.kind === 'rejected')) {
        let duplicates = 0;
        for (const event of events) if ((await translateOne(event)) === 'duplicate') duplicates += 1;
        return { duplicates };
      }
      const now = services.now();
      const executions = await fulfilments.executeAll(
        translated.flatMap(({ event, translation }) =>
          translation.kind === 'rejected'
            ? []
            : [
                {
                  id: translation.event.data.fulfilmentId,
                  input: [translation.event],
                  options: {
                    causeId: event.metadata.eventId,
                    causationId: event.metadata.eventId,
                    correlationId: translation.event.data.fulfilmentId,
                    now,
                  },
                },
              ],
        ),
      );
      return { duplicates: executions.filter((execution) => execution.kind === 'duplicate').length };
    },
  });

  const router = new Router({ prefix: '/adapters/order-scm' });
  router.get('/mapping', async (ctx) => {
    ctx.body = await refreshMapping();
  });
  router.post('/mapping/updates', async (ctx) => {
    const update = parseMappingUpdate(await readJsonBody(ctx, config.bodyLimitBytes));
    const execution = await mappings.execute(mappingId, update, {
      causeId: `mapping:${randomUUID()}`,
      causationId: null,
      correlationId: mappingId,
      now: services.now(),
    });
    if (execution.kind === 'refused')
      throw new ProblemError(409, execution.reason, { code: 'CONFLICT', title: 'Mapping update refused' });
    const updated = await refreshMapping();
    log.info('mapping updated', { update: update.type, revision: updated.revision });
    ctx.body = updated;
  });

  return {
    name: 'order-scm-adapter',
    routers: [guard(router, mappingAccess)],
    runners: [consumer],
    outboxes: [fulfilments.outbox],
    async start() {
      refresher = setInterval(() => void refreshMapping().catch(() => undefined), config.mappingRefreshMs);
      refresher.unref();
    },
    async stop() {
      if (refresher) clearInterval(refresher);
    },
  };
}
