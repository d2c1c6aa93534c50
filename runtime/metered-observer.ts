import type { RunnerObserver } from './consumer-runner';
import type { RuntimeMetrics } from './metrics';

/** The runner's observer port, recorded as Prometheus metrics for one consumer group. */
export function meteredObserver(metrics: RuntimeMetrics, group: string): RunnerObserver {
  return {
    consumed: (topic, count) => metrics.messagesConsumed.inc({ group, topic }, count),
    filtered: (topic) => metrics.messagesFiltered.inc({ group, topic }),
    processed: (topic, count, seconds) => {
      metrics.messagesProcessed.inc({ group, topic }, count);
      metrics.handlerDuration.observe({ group, topic }, seconds);
    },
    duplicates: (topic, count) => metrics.messagesDuplicate.inc({ group, topic }, count),
    retried: (topic) => metrics.messagesRetried.inc({ group, topic }),
    deadLettered: (topic, error) => {
      metrics.messagesDeadLettered.inc({ group, topic, category: error.category });
      metrics.messagesFailed.inc({ group, topic, category: error.category });
    },
    batch: (topic, seconds) => metrics.batchDuration.observe({ group, topic }, seconds),
    applied: (eventType, seconds) =>
      metrics.endToEndLatency.observe({ group, event_type: eventType }, seconds),
    rebalanced: () => metrics.consumerRebalances.inc({ group }),
    crashed: () => metrics.consumerCrashes.inc({ group }),
  };
}
