// Tests run on the compiled output: tsc emits the decorator metadata inversify relies on.
module.exports = {
  reporter: './test/support/reporter.cjs',
  timeout: 20000,
  'node-option': ['enable-source-maps'],
};
