// The order in which jest's two workers take the test files. Jest's own order (slowest first, by
// the last run's timings) with three exceptions:
// - the fault suite first and the cluster fault suite near the end, so that the two heaviest
//   files (each its own Kafka, registry and store and a process per context) never run at the
//   same time, and each shares the two cores with light files only;
// - the Helm chart test last: on a fresh machine Helm compiles in the background meanwhile
//   (global-setup.ts), so the chart test finds it built instead of waiting minutes for it.
const Sequencer = require('@jest/test-sequencer').default;

const named = (file) => (test) => test.path.replace(/\\/g, '/').endsWith(file);
const first = [named('/test/faults/faults.test.ts')];
const last = [named('/test/faults/cluster.test.ts'), named('/test/deploy/k8s.test.ts')];

class HeavySuitesApart extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const placed = [...first, ...last];
    const pick = (matches) => matches.flatMap((match) => sorted.filter(match));
    return [...pick(first), ...sorted.filter((test) => !placed.some((match) => match(test))), ...pick(last)];
  }
}

module.exports = HeavySuitesApart;
