/**
 * The runtime's Prometheus metrics, registered on a registry the process passes in: never on
 * prom-client's global default registry, so that tests and several processes' worth of contexts
 * in one Node process (the modular monolith) each see exactly the metrics they created.
 *
 * Create them ONCE per registry, in the composition root, and hand the object to every consumer
 * runner, publisher and relay: prom-client refuses a second metric of the same name on one
 * registry. Contexts are told apart by the `group` (consumer group) and `context` labels.
 *
 * Naming follows Prometheus conventions: `scm_` namespace, base units (seconds), `_total` on
 * counters; label values are bounded sets (groups, topics, partitions, event types, categories),
 * never ids.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FailureCategory } from './errors';
import type { RegistryOperation } from './serde';

export type ConsumerLabel = 'group' | 'topic';

export interface RuntimeMetrics {
  /** Records fetched by a consumer group, before filtering or decoding. */
  readonly messagesConsumed: Counter<ConsumerLabel>;
  /** Records whose handling completed and whose effects are durable. */
  readonly messagesProcessed: Counter<ConsumerLabel>;
  /** Records dropped by the group's filter policy (committed without being decoded). */
  readonly messagesFiltered: Counter<ConsumerLabel>;
  /** Redeliveries recognised by the dedup marker: applied before, changed nothing this time. */
  readonly messagesDuplicate: Counter<ConsumerLabel>;
  /** Retry attempts after a failure (one per retry, not per record). */
  readonly messagesRetried: Counter<ConsumerLabel>;
  readonly messagesDeadLettered: Counter<ConsumerLabel | 'category'>;
  /** Failed handling attempts, whatever happens next (retry or dead letter). */
  readonly messagesFailed: Counter<ConsumerLabel | 'category'>;
  readonly handlerDuration: Histogram<ConsumerLabel>;
  readonly batchDuration: Histogram<ConsumerLabel>;
  /** From the event's `occurredAt` to the moment its effect was durable in this group. */
  readonly endToEndLatency: Histogram<'group' | 'event_type'>;
  readonly consumerLag: Gauge<ConsumerLabel | 'partition'>;
  readonly outboxPending: Gauge<'context'>;
  readonly schemaRegistryRequests: Counter<'operation'>;
  /** Registry requests that failed, by operation and category (transient: unreachable or 5xx). */
  readonly schemaRegistryErrors: Counter<'operation' | 'category'>;
  readonly consumerRebalances: Counter<'group'>;
  readonly consumerCrashes: Counter<'group'>;
  readonly eventsPublished: Counter<'topic' | 'event_type'>;
  /** Commands sent to the document store (round trips), by command name: the engine's cost. */
  readonly storeCommands: Counter<'command'>;
  readonly http: HttpMetrics;
  readonly journey: JourneyMetrics;
  /**
   * Creates every series of a group and topic at zero. `increase()` and `rate()` only see a
   * change between two samples, so a counter whose first sample is already 1 hides the first
   * event: the dead-letter alert would miss the first poison message after a restart.
   */
  initialise(group: string, topic: string): void;
}

/** HTTP requests by route template (never a raw path: ids would make the label unbounded). */
export interface HttpMetrics {
  readonly requests: Counter<HttpLabel>;
  readonly duration: Histogram<HttpLabel>;
}
export type HttpLabel = 'method' | 'route' | 'status';

/**
 * The order journey as the contexts see it: each stage is owned by one context, which counts the
 * orders entering and leaving it when it writes the change (see `runtime/journey.ts`). Orders
 * currently in a stage are `entries - exits` (the recording rule `scm:orders_in_stage`): no
 * process ever counts a collection for it.
 */
export interface JourneyMetrics {
  readonly stageEntries: Counter<'context' | 'stage'>;
  readonly stageExits: Counter<'context' | 'stage' | 'outcome'>;
  /** From entering a stage to leaving it, in the owner's domain times. */
  readonly stageDuration: Histogram<'context' | 'stage' | 'outcome'>;
  readonly ordersPlaced: Counter<never>;
  /** Cancellations the storefront's customers saw confirmed (취소). */
  readonly ordersCancelled: Counter<never>;
  /** Reservations that had to wait for stock (one per reservation, however many retries). */
  readonly stockShortages: Counter<never>;
  readonly deliveryFailures: Counter<'reason'>;
}

// From a millisecond lookup in the store to a batch that waited on a slow dependency.
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
// End to end crosses several contexts and includes any backlog or retry, hence minutes.
const latencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

// Requests answer in milliseconds; a long poll (`GET /orders/:id?wait=30`) waits up to 30 s.
const httpBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
// A stage takes from milliseconds (a skipped kitchen) to hours (waiting for stock, a late courier).
const stageBuckets = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];

const failureCategories: readonly FailureCategory[] = ['transient', 'permanent'];
// Every operation of the registry client, so that each error series starts at zero.
const registryOperations = [
  'set_compatibility',
  'get_compatibility',
  'list_versions',
  'register',
  'get_schema_by_id',
  'delete_subject',
  'check_compatibility',
] as const satisfies readonly RegistryOperation[];

/**
 * The HTTP metrics of a registry, created on first use: `createHttpApp` takes only a registry
 * (some apps, in tests, have no runtime metrics), and prom-client refuses a second metric of a
 * name, so whoever comes first creates them and the other finds them.
 */
export function httpMetricsOn(registry: Registry): HttpMetrics {
  const labelNames: readonly HttpLabel[] = ['method', 'route', 'status'];
  const requests = registry.getSingleMetric('scm_http_requests_total');
  const duration = registry.getSingleMetric('scm_http_request_duration_seconds');
  if (requests instanceof Counter && duration instanceof Histogram)
    return { requests: requests as Counter<HttpLabel>, duration: duration as Histogram<HttpLabel> };
  return {
    requests: new Counter({
      name: 'scm_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'scm_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to its answer, by method, route template and status code.',
      labelNames,
      buckets: httpBuckets,
      registers: [registry],
    }),
  };
}

export function createRuntimeMetrics(registry: Registry): RuntimeMetrics {
  const registers = [registry];
  // Process and event-loop metrics (process_*, nodejs_*: their conventional names) on this
  // registry, never the global one.
  collectDefaultMetrics({ register: registry });
  const consumerLabels: readonly ConsumerLabel[] = ['group', 'topic'];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter({ name, help, labelNames, registers });

  const metrics = {
    messagesConsumed: counter(
      'scm_messages_consumed_total',
      'Records fetched by the consumer group, before filtering and decoding.',
      consumerLabels,
    ),
    messagesProcessed: counter(
      'scm_messages_processed_total',
      'Records handled with their effects durable.',
      consumerLabels,
    ),
    messagesFiltered: counter(
      'scm_messages_filtered_total',
      "Records dropped by the group's filter policy before decoding.",
      consumerLabels,
    ),
    messagesDuplicate: counter(
      'scm_messages_duplicate_total',
      'Redelivered records recognised by their dedup marker; they changed nothing.',
      consumerLabels,
    ),
    messagesRetried: counter(
      'scm_messages_retried_total',
      'Retry attempts after a failed handling of a record.',
      consumerLabels,
    ),
    messagesDeadLettered: counter(
      'scm_messages_dead_lettered_total',
      'Records published to the dead-letter topic, by failure category.',
      [...consumerLabels, 'category'],
    ),
    messagesFailed: counter(
      'scm_messages_failed_total',
      'Failed attempts at handling a record, by failure category.',
      [...consumerLabels, 'category'],
    ),
    handlerDuration: new Histogram({
      name: 'scm_handler_duration_seconds',
      help: 'Time spent in the handler, per call.',
      labelNames: consumerLabels,
      buckets: durationBuckets,
      registers,
    }),
    batchDuration: new Histogram({
      name: 'scm_batch_duration_seconds',
      help: 'Time from receiving a batch to committing its offsets, filtering, decoding and retries included.',
      labelNames: consumerLabels,
      buckets: durationBuckets,
      registers,
    }),
    endToEndLatency: new Histogram({
      name: 'scm_event_end_to_end_latency_seconds',
      help: "Time from an event's occurredAt to its effect being durable in the consumer group.",
      labelNames: ['group', 'event_type'] as const,
      buckets: latencyBuckets,
      registers,
    }),
    consumerLag: new Gauge({
      name: 'scm_consumer_lag',
      help: "Records between the group's committed offset and the partition's high watermark.",
      labelNames: [...consumerLabels, 'partition'] as const,
      registers,
    }),
    outboxPending: new Gauge({
      name: 'scm_outbox_pending',
      help: 'Events written to outboxes and not yet published.',
      labelNames: ['context'] as const,
      registers,
    }),
    schemaRegistryRequests: counter(
      'scm_schema_registry_requests_total',
      'Requests sent to the schema registry, by operation.',
      ['operation'] as const,
    ),
    schemaRegistryErrors: counter(
      'scm_schema_registry_errors_total',
      'Schema registry requests that failed, by operation and failure category.',
      ['operation', 'category'] as const,
    ),
    consumerRebalances: counter(
      'scm_consumer_rebalances_total',
      'Group rebalances seen by the consumer (partitions assigned anew).',
      ['group'] as const,
    ),
    consumerCrashes: counter(
      'scm_consumer_crashes_total',
      'Consumer crashes reported by kafkajs, whether or not it restarted.',
      ['group'] as const,
    ),
    eventsPublished: counter(
      'scm_events_published_total',
      'Events acknowledged by the broker, by topic and event type.',
      ['topic', 'event_type'] as const,
    ),
    storeCommands: counter(
      'scm_store_commands_total',
      'Commands sent to the document store (each one a round trip), by command name.',
      ['command'] as const,
    ),
    http: httpMetricsOn(registry),
    journey: {
      stageEntries: counter(
        'scm_order_stage_entries_total',
        'Orders entering a journey stage, counted by the context that owns the stage.',
        ['context', 'stage'] as const,
      ),
      stageExits: counter(
        'scm_order_stage_exits_total',
        'Orders leaving a journey stage, by outcome (completed, cancelled, failed).',
        ['context', 'stage', 'outcome'] as const,
      ),
      stageDuration: new Histogram({
        name: 'scm_order_stage_duration_seconds',
        help: 'Time an order spent in a journey stage, from entering it to leaving it, by outcome.',
        labelNames: ['context', 'stage', 'outcome'] as const,
        buckets: stageBuckets,
        registers,
      }),
      ordersPlaced: counter('scm_orders_placed_total', 'Orders placed at the storefront.', []),
      ordersCancelled: counter(
        'scm_orders_cancelled_total',
        'Orders whose cancellation the storefront saw confirmed (취소).',
        [],
      ),
      stockShortages: counter(
        'scm_stock_shortages_total',
        'Reservations that found stock short and had to wait (입고대기), once per reservation.',
        [],
      ),
      deliveryFailures: counter('scm_delivery_failures_total', 'Deliveries that failed, by reason.', [
        'reason',
      ] as const),
    } satisfies JourneyMetrics,
  };

  for (const operation of registryOperations)
    for (const category of failureCategories) metrics.schemaRegistryErrors.inc({ operation, category }, 0);

  return {
    ...metrics,
    initialise(group, topic) {
      const labels = { group, topic };
      for (const perRecord of [
        metrics.messagesConsumed,
        metrics.messagesProcessed,
        metrics.messagesFiltered,
        metrics.messagesDuplicate,
        metrics.messagesRetried,
      ]) {
        perRecord.inc(labels, 0);
      }
      for (const category of failureCategories) {
        metrics.messagesDeadLettered.inc({ ...labels, category }, 0);
        metrics.messagesFailed.inc({ ...labels, category }, 0);
      }
      metrics.handlerDuration.zero(labels);
      metrics.batchDuration.zero(labels);
      metrics.consumerRebalances.inc({ group }, 0);
      metrics.consumerCrashes.inc({ group }, 0);
    },
  };
}
