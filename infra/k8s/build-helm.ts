/**
 * Builds Helm where the chart test will look for it (`STACK_INSTALL_DIR`), for
 * `buildHelmInBackground` to run detached while the test suite goes on; exits 1 with the reason
 * when the build fails (the chart test then builds it again and reports the error).
 */
import { readStackConfig } from '../stack/config';
import { ensureHelm } from './tools';

ensureHelm(readStackConfig()).then(
  (binary) => console.log(`helm ready: ${binary}`),
  (error: unknown) => {
    console.error(
      `the background Helm build failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exitCode = 1;
  },
);
