import type { StackConfig } from '../../infra/stack/config';

/**
 * What the global setup started, for the global teardown. Jest documents globals as the
 * way to hand values from one to the other (both run in its parent process).
 */
export type Started =
  | { kind: 'native'; config: StackConfig }
  | { kind: 'containers'; stop: () => Promise<void> };

const holder = globalThis as typeof globalThis & { __scmTestStack?: Started };

export const setStarted = (value: Started): void => {
  holder.__scmTestStack = value;
};

export const takeStarted = (): Started | undefined => {
  const value = holder.__scmTestStack;
  delete holder.__scmTestStack;
  return value;
};
