// The code's own style: single quotes, semicolons, trailing commas, two-space indent, and
// lines up to 160 columns, wide enough for a one-line error message or signature to stay one line.
/** @type {import('prettier').Config} */
export default {
  printWidth: 160,
  singleQuote: true,
};
