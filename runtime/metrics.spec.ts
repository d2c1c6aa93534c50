import { register as globalRegistry, Registry } from 'prom-client';
import { createRuntimeMetrics } from './metrics';

/** `# TYPE` lines of the exposition text, as name → type. */
function typesIn(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match;
    if (name !== undefined && type !== undefined) types.set(name, type);
  }
  return types;
}

/** The sample lines of the exposition text (no comments). */
function samplesIn(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('createRuntimeMetrics', () => {
  it('registers every runtime metric with its Prometheus type', async () => {
    const registry = new Registry();
    createRuntimeMetrics(registry);

    const scm = [...typesIn(await registry.metrics())].filter(([name]) => name.startsWith('scm_'));
    expect(Object.fromEntries(scm)).toEqual({
      scm_messages_consumed_total: 'counter',
      scm_messages_processed_total: 'counter',
      scm_messages_filtered_total: 'counter',
      scm_messages_duplicate_total: 'counter',
      scm_messages_retried_total: 'counter',
      scm_messages_dead_lettered_total: 'counter',
      scm_messages_failed_total: 'counter',
      scm_handler_duration_seconds: 'histogram',
      scm_batch_duration_seconds: 'histogram',
      scm_event_end_to_end_latency_seconds: 'histogram',
      scm_consumer_lag: 'gauge',
      scm_outbox_pending: 'gauge',
      scm_schema_registry_requests_total: 'counter',
      scm_consumer_rebalances_total: 'counter',
      scm_consumer_crashes_total: 'counter',
      scm_events_published_total: 'counter',
      scm_store_commands_total: 'counter',
      scm_schema_registry_errors_total: 'counter',
      scm_http_requests_total: 'counter',
      scm_http_request_duration_seconds: 'histogram',
      scm_order_stage_entries_total: 'counter',
      scm_order_stage_exits_total: 'counter',
      scm_order_stage_duration_seconds: 'histogram',
      scm_orders_placed_total: 'counter',
      scm_orders_cancelled_total: 'counter',
      scm_stock_shortages_total: 'counter',
      scm_delivery_failures_total: 'counter',
    });
  });

  it('collects process and event-loop metrics on its own registry', async () => {
    const registry = new Registry();
    createRuntimeMetrics(registry);
    const types = typesIn(await registry.metrics());
    expect(types.get('process_cpu_seconds_total')).toBe('counter');
    expect(types.get('process_resident_memory_bytes')).toBe('gauge');
    expect(types.get('process_start_time_seconds')).toBe('gauge');
    expect(types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    expect(types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(await globalRegistry.metrics()).not.toContain('process_cpu_seconds_total');
  });

  it('writes samples with the declared labels', async () => {
    const registry = new Registry();
    const metrics = createRuntimeMetrics(registry);

    metrics.messagesConsumed.inc({ group: 'inventory', topic: 'scm.fulfilment-requests' }, 3);
    metrics.messagesDeadLettered.inc({
      group: 'inventory',
      topic: 'scm.fulfilment-requests',
      category: 'permanent',
    });
    metrics.handlerDuration.observe({ group: 'inventory', topic: 'scm.fulfilment-requests' }, 0.004);
    metrics.endToEndLatency.observe({ group: 'tracking', event_type: 'StockReserved' }, 1.7);
    metrics.consumerLag.set({ group: 'inventory', topic: 'scm.fulfilment-requests', partition: '2' }, 42);
    metrics.outboxPending.set({ context: 'order' }, 5);
    metrics.schemaRegistryRequests.inc({ operation: 'getSchemaById' });
    metrics.eventsPublished.inc({ topic: 'order.events', event_type: 'OrderPlaced' });

    const samples = samplesIn(await registry.metrics());
    expect(samples).toEqual(
      expect.arrayContaining([
        'scm_messages_consumed_total{group="inventory",topic="scm.fulfilment-requests"} 3',
        'scm_messages_dead_lettered_total{group="inventory",topic="scm.fulfilment-requests",category="permanent"} 1',
        'scm_handler_duration_seconds_bucket{le="0.005",group="inventory",topic="scm.fulfilment-requests"} 1',
        'scm_handler_duration_seconds_bucket{le="0.0025",group="inventory",topic="scm.fulfilment-requests"} 0',
        'scm_handler_duration_seconds_count{group="inventory",topic="scm.fulfilment-requests"} 1',
        'scm_event_end_to_end_latency_seconds_bucket{le="2.5",group="tracking",event_type="StockReserved"} 1',
        'scm_consumer_lag{group="inventory",topic="scm.fulfilment-requests",partition="2"} 42',
        'scm_outbox_pending{context="order"} 5',
        'scm_schema_registry_requests_total{operation="getSchemaById"} 1',
        'scm_events_published_total{topic="order.events",event_type="OrderPlaced"} 1',
      ]),
    );
  });

  it('histogram buckets reach from milliseconds to tens of seconds (minutes for end to end)', async () => {
    const registry = new Registry();
    const metrics = createRuntimeMetrics(registry);
    metrics.batchDuration.observe({ group: 'g', topic: 't' }, 0.5);
    metrics.endToEndLatency.observe({ group: 'g', event_type: 'E' }, 0.5);

    const bounds = (name: string, text: string): number[] =>
      [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"`, 'gm'))]
        .map((match) => match[1])
        .filter((le): le is string => le !== undefined && le !== '+Inf')
        .map(Number);
    const text = await registry.metrics();

    const batch = bounds('scm_batch_duration_seconds', text);
    expect(Math.min(...batch)).toBeLessThanOrEqual(0.001);
    expect(Math.max(...batch)).toBeGreaterThanOrEqual(30);
    const latency = bounds('scm_event_end_to_end_latency_seconds', text);
    expect(Math.max(...latency)).toBeGreaterThanOrEqual(300);
  });

  it('initialise creates every series of a group and topic at zero, once', async () => {
    const registry = new Registry();
    const metrics = createRuntimeMetrics(registry);
    metrics.initialise('delivery', 'scm.warehouse-events');
    metrics.initialise('delivery', 'scm.warehouse-events');

    const samples = samplesIn(await registry.metrics());
    const labels = 'group="delivery",topic="scm.warehouse-events"';
    expect(samples).toEqual(
      expect.arrayContaining([
        `scm_messages_consumed_total{${labels}} 0`,
        `scm_messages_processed_total{${labels}} 0`,
        `scm_messages_filtered_total{${labels}} 0`,
        `scm_messages_duplicate_total{${labels}} 0`,
        `scm_messages_retried_total{${labels}} 0`,
        `scm_messages_dead_lettered_total{${labels},category="permanent"} 0`,
        `scm_messages_dead_lettered_total{${labels},category="transient"} 0`,
        `scm_messages_failed_total{${labels},category="permanent"} 0`,
        `scm_messages_failed_total{${labels},category="transient"} 0`,
        `scm_handler_duration_seconds_count{${labels}} 0`,
        `scm_batch_duration_seconds_count{${labels}} 0`,
        'scm_consumer_rebalances_total{group="delivery"} 0',
        'scm_consumer_crashes_total{group="delivery"} 0',
      ]),
    );
    expect(samples.filter((line) => line.startsWith('scm_messages_consumed_total'))).toHaveLength(1);
  });

  it('keeps registries apart and leaves the global default registry alone', async () => {
    const first = new Registry();
    const second = new Registry();
    createRuntimeMetrics(first).messagesProcessed.inc({ group: 'g', topic: 't' });
    createRuntimeMetrics(second);

    expect(samplesIn(await first.metrics())).toContain('scm_messages_processed_total{group="g",topic="t"} 1');
    expect(samplesIn(await second.metrics()).some((line) => line.startsWith('scm_messages_processed'))).toBe(
      false,
    );
    expect(await globalRegistry.metrics()).not.toContain('scm_');
  });

  it('refuses to register twice on one registry (create once per process)', () => {
    const registry = new Registry();
    createRuntimeMetrics(registry);
    expect(() => createRuntimeMetrics(registry)).toThrow(/already been registered/);
  });
});
