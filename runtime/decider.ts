/**
 * The shape of every context's domain rules: a decider (decide / evolve), pure and synchronous,
 * so the rules are tested with given/when/then and no infrastructure. The runtime's aggregate
 * store runs it: load the state, decide, fold the facts into the new state with `evolve`, and
 * write the state together with the contract events the facts publish (outbox), in one write.
 *
 * - An *input* is whatever asks the aggregate to act: a decoded event of another context, or a
 *   person's command from the HTTP API.
 * - A *fact* is the aggregate's own record of what happened (past tense). Facts change state;
 *   some of them are also published to the context's topic (`publish`), others stay private.
 * - A *refusal* is a business answer, not an error: the API turns it into a problem response,
 *   a consumer logs it and moves on.
 */
import type { EventRegistry, EventType } from '@contracts/generated';

type VersionsOf<T extends EventType> = EventRegistry[T]['versions'];

/** A contract event without its envelope: the runtime adds the metadata when it writes it. */
export type Publication = {
  [T in EventType]: {
    [V in keyof VersionsOf<T> & number]: VersionsOf<T>[V] extends { readonly data: infer D }
      ? { readonly type: T; readonly version: V; readonly data: D }
      : never;
  }[keyof VersionsOf<T> & number];
}[EventType];

export type RefusalCode = 'NOT_FOUND' | 'CONFLICT';

export interface Refusal {
  readonly kind: 'refused';
  /** NOT_FOUND: no such aggregate (404); CONFLICT: not in a state that allows it (409). */
  readonly code: RefusalCode;
  /** For people: why, in words an operator or a customer understands. */
  readonly reason: string;
}

export type Decision<F> = { readonly kind: 'accepted'; readonly facts: readonly F[] } | Refusal;

export interface Decider<S, I, F> {
  /** Decides what happens when `input` meets `state` (`undefined`: the aggregate does not exist yet). */
  decide(input: I, state: S | undefined, now: Date): Decision<F>;
  /** The state after one fact. */
  evolve(state: S | undefined, fact: F): S;
  /** The contract events a fact publishes on the context's own topic (none for private facts). */
  publish(fact: F, state: S): readonly Publication[];
}

export const accepted = <F>(...facts: F[]): Decision<F> => ({ kind: 'accepted', facts });
export const unchanged: Decision<never> = { kind: 'accepted', facts: [] };
export const refused = (code: RefusalCode, reason: string): Refusal => ({ kind: 'refused', code, reason });

/** Folds facts into the state; `undefined` when there are none and there was no state. */
export function evolveAll<S, F>(
  decider: Pick<Decider<S, unknown, F>, 'evolve'>,
  state: S | undefined,
  facts: readonly F[],
): S | undefined {
  return facts.reduce<S | undefined>((current, fact) => decider.evolve(current, fact), state);
}

/**
 * An adapter's whole decider: an input is the publications one source event translates into,
 * accepted as they are. It keeps no state of its own (the state is empty); run by the aggregate
 * store, keyed by what the publications are about, it still gets what an adapter needs: the
 * source events already applied to that key (dedup) and the outbox, in the same one write.
 */
export type Relayed = { readonly type: 'Relayed'; readonly publications: readonly Publication[] };
export type RelayState = Readonly<Record<string, never>>;

export const relayDecider: Decider<RelayState, readonly Publication[], Relayed> = {
  decide: (publications) => accepted({ type: 'Relayed', publications }),
  evolve: () => ({}),
  publish: (fact) => fact.publications,
};
