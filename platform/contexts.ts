/**
 * Every context a platform process can host, with what it writes and what it consumes (to
 * register schemas, provision dead-letter topics before it starts, and derive its ACLs).
 */
import type { PlatformContext } from '@contracts/principals';
import type { WriterContext } from '@contracts/topics';
import type { ContextModule, PlatformServices, TopicSubscription } from '@runtime/context';
import { createDeliveryContext, deliverySubscription } from '@services/delivery';
import { createInventoryContext, inventorySubscription } from '@services/inventory';
import { createOrderContext, orderSubscription } from '@services/order';
import { createProductionContext, productionSubscription } from '@services/production';
import { createTrackingContext, trackingSubscription } from '@services/tracking';
import { createWarehouseContext, warehouseSubscription } from '@services/warehouse';
import { createOrderScmAdapter, orderScmAdapterSubscription } from '@streams/order-to-scm';
import { createScmOrderAdapter, scmOrderAdapterSubscription } from '@streams/scm-to-order';
import type { PlatformConfig } from './config';

interface ContextFactory {
  readonly writes: readonly WriterContext[];
  /** Its consumer groups and the catalogue topics each reads. */
  readonly subscriptions: readonly TopicSubscription[];
  readonly summary: string;
  create(services: PlatformServices, config: PlatformConfig): Promise<ContextModule>;
}

export const contextFactories = {
  order: {
    writes: ['order'],
    subscriptions: [orderSubscription],
    summary: 'storefront orders: /orders',
    create: (services, config) => createOrderContext(services, config.order),
  },
  'order-scm-adapter': {
    writes: ['order-scm-adapter'],
    subscriptions: [orderScmAdapterSubscription],
    summary: 'order -> SCM translation; its map: /adapters/order-scm/mapping',
    create: (services, config) => createOrderScmAdapter(services, config.orderScmAdapter),
  },
  'scm-order-adapter': {
    writes: ['scm-order-adapter'],
    subscriptions: [scmOrderAdapterSubscription],
    summary: 'SCM progress -> customer-facing status',
    create: (services) => createScmOrderAdapter(services),
  },
  inventory: {
    writes: ['inventory'],
    subscriptions: [inventorySubscription],
    summary: 'stock per SKU: /inventory/stock',
    create: (services, config) => createInventoryContext(services, config),
  },
  production: {
    writes: ['production'],
    subscriptions: [productionSubscription],
    summary: 'kitchen (요리) tasks: /kitchen/tasks',
    create: (services, config) => createProductionContext(services, config),
  },
  warehouse: {
    writes: ['warehouse'],
    subscriptions: [warehouseSubscription],
    summary: 'pick and pack (픽업·포장) tasks: /warehouse/tasks',
    create: (services, config) => createWarehouseContext(services, config),
  },
  delivery: {
    writes: ['delivery'],
    subscriptions: [deliverySubscription],
    summary: 'shipments (배송·전달완료): /delivery/shipments',
    create: (services, config) => createDeliveryContext(services, config),
  },
  tracking: {
    writes: [],
    subscriptions: [trackingSubscription],
    summary: 'timeline of an order across contexts: /orders/:id/timeline',
    create: (services) => createTrackingContext(services),
  },
} as const satisfies Record<PlatformContext, ContextFactory>;

export type ContextName = keyof typeof contextFactories;
export const contextNames = Object.keys(contextFactories) as ContextName[];
