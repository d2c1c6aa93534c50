import { Registry } from 'prom-client';
import { meterStages, observeAll, type StageVisit } from './journey';
import { createRuntimeMetrics } from './metrics';

interface Task {
  readonly readyAt: string | null;
  readonly doneAt: string | null;
  readonly cancelledAt: string | null;
}

const stagesOf = (task: Task): readonly StageVisit[] => [
  {
    stage: 'picking',
    enteredAt: task.readyAt,
    left:
      task.doneAt !== null
        ? { at: task.doneAt, outcome: 'completed' }
        : task.cancelledAt !== null && task.readyAt !== null
          ? { at: task.cancelledAt, outcome: 'cancelled' }
          : null,
  },
];

const task = (
  readyAt: string | null,
  doneAt: string | null = null,
  cancelledAt: string | null = null,
): Task => ({
  readyAt,
  doneAt,
  cancelledAt,
});

async function samples(registry: Registry, name: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line.startsWith(`${name}{`));
}

describe('meterStages', () => {
  it('creates every series of its stages at zero', async () => {
    const registry = new Registry();
    meterStages(createRuntimeMetrics(registry).journey, 'warehouse', stagesOf, ['picking']);
    expect(await samples(registry, 'scm_order_stage_entries_total')).toEqual([
      'scm_order_stage_entries_total{context="warehouse",stage="picking"} 0',
    ]);
    expect(await samples(registry, 'scm_order_stage_exits_total')).toHaveLength(3);
  });

  it('given a task entering and then leaving a stage, counts one entry, one exit and its duration', async () => {
    const registry = new Registry();
    const observe = meterStages(createRuntimeMetrics(registry).journey, 'warehouse', stagesOf, ['picking']);

    observe(undefined, task(null));
    observe(task(null), task('2025-01-02T00:00:00.000Z'));
    // A change that touches nothing of the stage (e.g. a redelivered hand-over written again).
    observe(task('2025-01-02T00:00:00.000Z'), task('2025-01-02T00:00:00.000Z'));
    observe(task('2025-01-02T00:00:00.000Z'), task('2025-01-02T00:00:00.000Z', '2025-01-02T00:00:02.500Z'));

    expect(await samples(registry, 'scm_order_stage_entries_total')).toEqual([
      'scm_order_stage_entries_total{context="warehouse",stage="picking"} 1',
    ]);
    expect(await samples(registry, 'scm_order_stage_exits_total')).toContain(
      'scm_order_stage_exits_total{context="warehouse",stage="picking",outcome="completed"} 1',
    );
    const durations = await samples(registry, 'scm_order_stage_duration_seconds_sum');
    expect(durations).toEqual([
      'scm_order_stage_duration_seconds_sum{context="warehouse",stage="picking",outcome="completed"} 2.5',
    ]);
  });

  it('counts entry and exit when one write (a batch) both entered and left the stage', async () => {
    const registry = new Registry();
    const observe = meterStages(createRuntimeMetrics(registry).journey, 'warehouse', stagesOf, ['picking']);
    observe(undefined, task('2025-01-02T00:00:00.000Z', null, '2025-01-02T00:01:00.000Z'));
    expect(await samples(registry, 'scm_order_stage_exits_total')).toContain(
      'scm_order_stage_exits_total{context="warehouse",stage="picking",outcome="cancelled"} 1',
    );
    expect(await samples(registry, 'scm_order_stage_entries_total')).toEqual([
      'scm_order_stage_entries_total{context="warehouse",stage="picking"} 1',
    ]);
  });

  it('observeAll tells every observer', () => {
    const seen: string[] = [];
    observeAll<number>(
      (before, after) => seen.push(`a:${before}->${after}`),
      (before, after) => seen.push(`b:${before}->${after}`),
    )(1, 2);
    expect(seen).toEqual(['a:1->2', 'b:1->2']);
  });
});
