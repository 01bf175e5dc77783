import type { Origin } from './origin.js';

/** Machine-readable reason for a configuration error; stable, other tools may switch on it. */
export type ConfigErrorCode =
  | 'yaml' // the model file is not valid YAML
  | 'model' // a model-file key is missing, mistyped or unknown
  | 'file' // a referenced file cannot be read
  | 'syntax' // a runbook line does not parse
  | 'unsupported' // a command or option netpath does not model
  | 'kernel' // the real command would fail on this state (missing device, unreachable gateway, ...)
  | 'option'; // a command-line option's value is invalid (the error's file is the option, e.g. --to)

/**
 * Bad input. Always carries the file and line, and the command text when there is one.
 * A packet's fate is never an exception; a ConfigError is only for what the user wrote.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly code: ConfigErrorCode,
    readonly file: string,
    readonly line: number,
    readonly detail: string,
    readonly text?: string,
  ) {
    super(`${file}:${line}: ${detail}${text !== undefined && text !== '' ? `\n    ${text}` : ''}`);
  }

  static at(origin: Origin, code: ConfigErrorCode, detail: string): ConfigError {
    return new ConfigError(code, origin.file, origin.line, detail, origin.text);
  }
}

/** A broken invariant inside netpath itself: a bug, never the user's fault. */
export function bug(message: string): never {
  throw new Error(`netpath bug: ${message}`);
}

export function assertNever(x: never, what = 'value'): never {
  throw new Error(`netpath bug: unexpected ${what}: ${JSON.stringify(x)}`);
}
