// Error types. A ShapeError names the op and the shapes involved; LrqError is any user-facing error
// whose message is a single line suitable to print without a stack trace.

/** A user-facing error: the CLI prints `lrq: <message>` and exits non-zero, without a stack trace. */
export class LrqError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LrqError';
  }
}

/** Shape or dtype mismatch inside an op: message is `<op>: <what> (shapes …)`. */
export class ShapeError extends LrqError {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** A value that must be finite (loss, gradient, observed activation range) became NaN or ±Inf. */
export class NonFiniteError extends LrqError {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}
