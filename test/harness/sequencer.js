// Jest's own order (slowest first, by the last run's timings), with the Helm chart test moved to
// the end: on a fresh machine Helm compiles in the background meanwhile (global-setup.ts), so the
// chart test finds it built instead of waiting minutes at the start of the run.
const Sequencer = require('@jest/test-sequencer').default;

const last = (test) => /[\\/]test[\\/]deploy[\\/]k8s\.test\.ts$/.test(test.path);

class HelmChartLast extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    return [...sorted.filter((test) => !last(test)), ...sorted.filter(last)];
  }
}

module.exports = HelmChartLast;
