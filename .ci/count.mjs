// Prints "N passed, N failed" from vitest's JSON report (a missing report counts as one failure).
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests + (report.numRuntimeErrors ?? 0) + report.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  skipped = report.numPendingTests + report.numTodoTests;
} catch (e) {
  console.error(`no test report: ${e.message}`);
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
