import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { orderStatusLabels } from './status-labels';

describe('order status labels', () => {
  const schema = readFileSync(
    join(__dirname, '..', 'schemas', 'order', 'OrderStatusChanged.v2.avsc'),
    'utf8',
  );

  it.each(Object.entries(orderStatusLabels))(
    '%s is %s, as the OrderStatusChanged v2 schema documents',
    (status, label) => {
      expect(schema).toContain(`${status} ${label}`);
    },
  );
});
