// Tests run on the compiled output: tsc emits the decorator metadata inversify relies on.
module.exports = {
  // Installs the external tools the tests use before any suite runs (test/support/root-hooks.ts).
  require: ['./dist/test/support/root-hooks.js'],
  reporter: './test/support/reporter.cjs',
  timeout: 20000,
  'node-option': ['enable-source-maps'],
};
