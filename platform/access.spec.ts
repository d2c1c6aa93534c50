import { isRole, type AccessTable } from '@runtime/auth';
import { deadLetterAccess } from '@runtime/dead-letter-router';
import { deliveryAccess } from '@services/delivery/api';
import { inventoryAccess } from '@services/inventory/api';
import { orderAccess } from '@services/order/api';
import { productionAccess } from '@services/production/api';
import { trackingAccess } from '@services/tracking/api';
import { warehouseAccess } from '@services/warehouse/api';
import { mappingAccess } from '@streams/order-to-scm';

// Every router checks its table against its routes when it is built (`guard`): a route missing
// from a table stops the platform's start. This pins who may call what.
describe('the route tables of the platform', () => {
  const tables: Record<string, AccessTable> = {
    orderAccess,
    inventoryAccess,
    productionAccess,
    warehouseAccess,
    deliveryAccess,
    trackingAccess,
    mappingAccess,
    deadLetterAccess,
  };

  it('name known roles only, one context per table, admin alone for the operator routes', () => {
    const byTable = Object.fromEntries(
      Object.entries(tables).map(([name, table]) => [name, [...new Set(Object.values(table).flat())]]),
    );
    expect(byTable).toEqual({
      orderAccess: ['storefront'],
      inventoryAccess: ['inventory'],
      productionAccess: ['kitchen'],
      warehouseAccess: ['warehouse'],
      deliveryAccess: ['delivery'],
      trackingAccess: ['storefront'],
      mappingAccess: ['admin'],
      deadLetterAccess: ['admin'],
    });
    for (const table of Object.values(tables))
      for (const held of Object.values(table)) expect(held.every(isRole)).toBe(true);
  });

  it('cover these routes, each with its roles', () => {
    const all = Object.assign({}, ...Object.values(tables)) as AccessTable;
    expect(Object.fromEntries(Object.entries(all).map(([route, held]) => [route, held.join(' ')]))).toEqual({
      'POST /orders': 'storefront',
      'GET /orders/:id': 'storefront',
      'POST /orders/:id/cancel': 'storefront',
      'PUT /orders/:id/delivery-address': 'storefront',
      'POST /orders/:id/review': 'storefront',
      'GET /orders': 'storefront',
      'GET /orders/:id/timeline': 'storefront',
      'GET /inventory/stock': 'inventory',
      'GET /inventory/stock/:sku': 'inventory',
      'POST /inventory/stock/:sku/receipts': 'inventory',
      'PUT /inventory/stock/:sku/count': 'inventory',
      'GET /inventory/reservations': 'inventory',
      'GET /inventory/reservations/:fulfilmentId': 'inventory',
      'GET /kitchen/tasks': 'kitchen',
      'GET /kitchen/tasks/:taskId': 'kitchen',
      'POST /kitchen/tasks/:taskId/start': 'kitchen',
      'POST /kitchen/tasks/:taskId/complete': 'kitchen',
      'GET /warehouse/tasks': 'warehouse',
      'GET /warehouse/tasks/:taskId': 'warehouse',
      'POST /warehouse/tasks/:taskId/pick': 'warehouse',
      'POST /warehouse/tasks/:taskId/pack': 'warehouse',
      'GET /delivery/shipments': 'delivery',
      'GET /delivery/shipments/:shipmentId': 'delivery',
      'GET /delivery/waves': 'delivery',
      'POST /delivery/shipments/:shipmentId/dispatch': 'delivery',
      'POST /delivery/shipments/:shipmentId/deliver': 'delivery',
      'POST /delivery/shipments/:shipmentId/fail': 'delivery',
      'GET /adapters/order-scm/mapping': 'admin',
      'POST /adapters/order-scm/mapping/updates': 'admin',
      'GET /admin/dead-letters/:group': 'admin',
      'POST /admin/dead-letters/:group/replay': 'admin',
      'POST /admin/dead-letters/:group/drop': 'admin',
    });
  });
});
