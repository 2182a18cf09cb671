// Tests run on the compiled output: tsc emits the decorator metadata inversify relies on.
module.exports = {
  spec: ['dist/test/**/*.test.js'],
  reporter: './test/support/reporter.cjs',
  timeout: 20000,
  'node-option': ['enable-source-maps'],
};
