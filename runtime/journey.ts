/**
 * Journey metrics, derived from the changes a context writes: the context says where an
 * aggregate's state stands in the stages it owns (`StageVisit`s, from the times its domain keeps
 * anyway), and the meter compares the state before and after each written change. A stage entered
 * counts one entry; a stage left counts one exit, by outcome, and observes the time spent in it.
 *
 * Counting on the written change, not on the event consumed, makes it exact under redelivery (a
 * duplicate writes nothing) and under batching (several changes of one aggregate in one write
 * still compare the first state with the last). A process crash between the write and the count
 * loses that count, and a restarted process starts its counters at zero: `entries - exits` of a
 * stage is exact between restarts of the processes that own it.
 */
import type { JourneyMetrics } from './metrics';

/** The journey's stages, each owned by one context; the label values of every journey metric. */
export const journeyStages = ['reservation', 'cooking', 'picking', 'packing', 'dispatch', 'transit'] as const;
export type JourneyStage = (typeof journeyStages)[number];

export const stageOutcomes = ['completed', 'cancelled', 'failed'] as const;
export type StageOutcome = (typeof stageOutcomes)[number];

/** One stage of one aggregate: when it was entered and left (ISO-8601), null for "not yet". */
export interface StageVisit {
  readonly stage: JourneyStage;
  readonly enteredAt: string | null;
  readonly left: { readonly at: string; readonly outcome: StageOutcome } | null;
}

export type StagesOf<S> = (state: S) => readonly StageVisit[];

/** What a context's store calls after each change it wrote. */
export type TransitionObserver<S> = (before: S | undefined, after: S) => void;

export function meterStages<S>(
  metrics: JourneyMetrics,
  context: string,
  stagesOf: StagesOf<S>,
  owned: readonly JourneyStage[],
): TransitionObserver<S> {
  // Every series at zero from the start: increase() misses the first increment of a series whose
  // first sample is already 1.
  for (const stage of owned) {
    metrics.stageEntries.inc({ context, stage }, 0);
    for (const outcome of stageOutcomes) metrics.stageExits.inc({ context, stage, outcome }, 0);
  }
  return (before, after) => {
    const earlier = new Map(
      (before === undefined ? [] : stagesOf(before)).map((visit) => [visit.stage, visit]),
    );
    for (const visit of stagesOf(after)) {
      if (visit.enteredAt === null) continue;
      const was = earlier.get(visit.stage);
      if (was?.enteredAt == null) metrics.stageEntries.inc({ context, stage: visit.stage });
      if (visit.left === null || was?.left != null) continue;
      const labels = { context, stage: visit.stage, outcome: visit.left.outcome };
      metrics.stageExits.inc(labels);
      const seconds = (Date.parse(visit.left.at) - Date.parse(visit.enteredAt)) / 1000;
      if (Number.isFinite(seconds)) metrics.stageDuration.observe(labels, Math.max(0, seconds));
    }
  };
}

/** Several observers of one store's changes as one. */
export function observeAll<S>(...observers: readonly TransitionObserver<S>[]): TransitionObserver<S> {
  return (before, after) => {
    for (const observe of observers) observe(before, after);
  };
}
