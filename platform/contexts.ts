/**
 * Every context a platform process can host, with what it writes and which consumer groups it
 * runs (to register schemas and provision dead-letter topics before it starts).
 */
import type { WriterContext } from '@contracts/topics';
import type { ContextModule, PlatformServices } from '@runtime/context';
import { createDeliveryContext, deliveryGroup } from '@services/delivery';
import { createInventoryContext, inventoryGroup } from '@services/inventory';
import { createOrderContext, orderGroup } from '@services/order';
import { createProductionContext, productionGroup } from '@services/production';
import { createTrackingContext, trackingGroup } from '@services/tracking';
import { createWarehouseContext, warehouseGroup } from '@services/warehouse';
import { createOrderScmAdapter, orderScmAdapterGroup } from '@streams/order-to-scm';
import { createScmOrderAdapter, scmOrderAdapterGroup } from '@streams/scm-to-order';
import type { PlatformConfig } from './config';

interface ContextFactory {
  readonly writes: readonly WriterContext[];
  readonly groups: readonly string[];
  readonly summary: string;
  create(services: PlatformServices, config: PlatformConfig): Promise<ContextModule>;
}

export const contextFactories = {
  order: {
    writes: ['order'],
    groups: [orderGroup],
    summary: 'storefront orders: /orders',
    create: (services, config) => createOrderContext(services, config.order),
  },
  'order-scm-adapter': {
    writes: ['order-scm-adapter'],
    groups: [orderScmAdapterGroup],
    summary: 'order -> SCM translation; its map: /adapters/order-scm/mapping',
    create: (services, config) => createOrderScmAdapter(services, config.orderScmAdapter),
  },
  'scm-order-adapter': {
    writes: ['scm-order-adapter'],
    groups: [scmOrderAdapterGroup],
    summary: 'SCM progress -> customer-facing status',
    create: (services) => createScmOrderAdapter(services),
  },
  inventory: {
    writes: ['inventory'],
    groups: [inventoryGroup],
    summary: 'stock per SKU: /inventory/stock',
    create: (services, config) => createInventoryContext(services, config),
  },
  production: {
    writes: ['production'],
    groups: [productionGroup],
    summary: 'kitchen (요리) tasks: /kitchen/tasks',
    create: (services, config) => createProductionContext(services, config),
  },
  warehouse: {
    writes: ['warehouse'],
    groups: [warehouseGroup],
    summary: 'pick and pack (픽업·포장) tasks: /warehouse/tasks',
    create: (services, config) => createWarehouseContext(services, config),
  },
  delivery: {
    writes: ['delivery'],
    groups: [deliveryGroup],
    summary: 'shipments (배송·전달완료): /delivery/shipments',
    create: (services, config) => createDeliveryContext(services, config),
  },
  tracking: {
    writes: [],
    groups: [trackingGroup],
    summary: 'timeline of an order across contexts: /orders/:id/timeline',
    create: (services) => createTrackingContext(services),
  },
} as const satisfies Record<string, ContextFactory>;

export type ContextName = keyof typeof contextFactories;
export const contextNames = Object.keys(contextFactories) as ContextName[];
