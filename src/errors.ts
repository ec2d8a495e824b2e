/**
 * Typed errors. Every failure a user can cause (bad file, bad input, bad option) is one of these,
 * with a code a program can switch on and a message a person can act on.
 */
export type MuidErrorCode =
  | "FORMAT" // a file is not what it claims (corrupt, truncated, wrong magic, bad header)
  | "VERSION" // a file's format version is not supported
  | "UNSAFE" // a file asks for something refused on principle (pickle global, zip bomb, size limit)
  | "INPUT" // caller input of wrong length, NaN/Inf, out-of-range id
  | "MODEL" // a model card that does not match its tensors or is internally inconsistent
  | "OPTION" // a bad command-line option
  | "IO"; // a file that cannot be read or written

export class MuidError extends Error {
  readonly code: MuidErrorCode;
  constructor(code: MuidErrorCode, message: string) {
    super(message);
    this.name = `MuidError[${code}]`;
    this.code = code;
  }
}

export class FormatError extends MuidError {
  constructor(message: string) {
    super("FORMAT", message);
  }
}
export class VersionError extends MuidError {
  constructor(message: string) {
    super("VERSION", message);
  }
}
export class UnsafeFileError extends MuidError {
  constructor(message: string) {
    super("UNSAFE", message);
  }
}
export class InputError extends MuidError {
  constructor(message: string) {
    super("INPUT", message);
  }
}
export class ModelError extends MuidError {
  constructor(message: string) {
    super("MODEL", message);
  }
}
export class OptionError extends MuidError {
  constructor(message: string) {
    super("OPTION", message);
  }
}
