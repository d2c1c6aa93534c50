import fs from 'node:fs';
import path from 'node:path';
import { documentStoreArgs, documentStoreBinary } from '../../infra/stack/components';
import { readStackConfig } from '../../infra/stack/config';

/**
 * Some tests start extra instances of a component (a second stack, a store to kill) from
 * the native stack's cached installs. Where the run uses endpoints from the environment or
 * containers there are no such installs, and those tests are skipped, saying why.
 */
export const nativeStack = readStackConfig(process.env);

export const documentStore = {
  binary: documentStoreBinary(nativeStack),
  args: documentStoreArgs,
};

export const hasNativeInstalls = fs.existsSync(
  path.join(nativeStack.installDir, `kafka-${nativeStack.kafka.version}`, '.installed'),
);

export const describeWithNativeInstalls: jest.Describe = hasNativeInstalls ? describe : describe.skip;
