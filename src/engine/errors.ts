// Error types. A ShapeError names the op and the shapes involved; LrqError is any user-facing error
// whose message is a single line suitable to print without a stack trace.

/** A user-facing error: the CLI prints `lrq: <message>` and exits non-zero, without a stack trace. */
export class LrqError extends Error {
  constructor(message: string) {
    // names read from a corrupt file may hold newlines or control bytes: escape them so the line stays one
    super(message.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
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
