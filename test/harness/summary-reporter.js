// Prints one plain closing line, "N passed, N failed, N skipped", so that CI can read the
// outcome of a run in any language's terms, not only jest's own summary.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results;
    const failedSuites = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    process.stdout.write(
      `\n${numPassedTests} passed, ${numFailedTests + (failedSuites > 0 && numFailedTests === 0 ? failedSuites : 0)} failed, ${numPendingTests + numTodoTests} skipped\n`,
    );
  }
}
module.exports = SummaryReporter;
