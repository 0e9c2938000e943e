// Named error classes for the engine (house style H17): each carries the offending item
// (config key, tensor, file, backend) and, where there are any, the valid choices.

/** Base class: every edgetron error has a stable `name` and a one-line message. */
export class EdgetronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config.json key is missing, has the wrong type, or contradicts another key. */
export class ConfigError extends EdgetronError {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`config.json: ${key}: ${detail}`);
  }
}

/**
 * A config file (config.json and its siblings) is not JSON plus the bare `Infinity`, `-Infinity`
 * and `NaN` Python writes: names the file, the 1-based line and column, and what was found.
 */
export class JsonSyntaxError extends EdgetronError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}: malformed JSON: line ${line}, column ${column}: ${reason}`);
  }
}

/** A tensor the model needs is absent from the checkpoint. */
export class MissingTensorError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly source: string,
  ) {
    super(`missing tensor ${tensor} in ${source}`);
  }
}

/** A tensor is present but its shape differs from what config.json implies. */
export class TensorShapeError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
  ) {
    super(`tensor ${tensor} has shape [${actual.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

/** A tensor is stored in a dtype this path cannot use. */
export class UnsupportedDTypeError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly dtype: string,
    readonly supported: readonly string[],
  ) {
    super(`tensor ${tensor} has dtype ${dtype}; supported: ${supported.join(', ')}`);
  }
}

/** A weight file is truncated, has a malformed header, or an inconsistent index. */
export class CorruptWeightsError extends EdgetronError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A backend name that does not exist or cannot run here. */
export class UnknownBackendError extends EdgetronError {
  constructor(
    readonly backend: string,
    readonly choices: readonly string[],
  ) {
    super(`unknown backend "${backend}"; choose one of: ${choices.join(', ')}`);
  }
}

/** The prompt plus requested tokens do not fit the context the engine allows. */
export class ContextWindowExceededError extends EdgetronError {
  constructor(
    readonly requested: number,
    readonly limit: number,
  ) {
    super(`sequence of ${requested} tokens exceeds the context limit of ${limit}`);
  }
}

/** A token id outside [0, vocab). */
export class TokenOutOfRangeError extends EdgetronError {
  constructor(
    readonly token: number,
    readonly vocabSize: number,
  ) {
    super(`token id ${token} is outside the vocabulary [0, ${vocabSize})`);
  }
}

/** Generation was aborted through its AbortSignal. */
export class AbortedError extends EdgetronError {
  constructor() {
    super('generation aborted');
  }
}

/** The checkpoint has no usable tokenizer.json, and the command needs text. */
export class MissingTokenizerError extends EdgetronError {
  constructor(readonly source: string) {
    super(`${source}: no usable tokenizer.json (needed to turn text into ids)`);
  }
}

/** The chat template is missing, does not parse, or raised an exception while rendering. */
export class ChatTemplateError extends EdgetronError {
  constructor(detail: string) {
    super(`chat template: ${detail.replace(/\s*\n\s*/g, ' ')}`);
  }
}

/** A generation or sampling option is out of range (the field, the value and the allowed range). */
export class InvalidOptionError extends EdgetronError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`${option} = ${JSON.stringify(value)} is invalid; expected ${allowed}`);
  }
}

/** A sequence state was used after `free`, or restored from a snapshot it does not own. */
export class SequenceStateError extends EdgetronError {
  constructor(readonly detail: string) {
    super(`sequence state: ${detail}`);
  }
}

/** A backend op got an argument it cannot use (another backend's activation, mismatched shapes, rows out of range). */
export class OpArgumentError extends EdgetronError {
  constructor(
    readonly op: string,
    readonly detail: string,
  ) {
    super(`${op}: ${detail}`);
  }
}

/** A backend could not get the memory it needs (WASM memory is capped at 4 GiB). */
export class OutOfMemoryError extends EdgetronError {
  constructor(
    readonly backend: string,
    readonly requestedBytes: number,
    readonly limitBytes: number,
  ) {
    super(`${backend}: cannot allocate ${requestedBytes} bytes; the memory limit is ${limitBytes} bytes`);
  }
}

/** A quantised linear weight's layout does not fit its shape (e.g. K not a multiple of the NVFP4 block). */
export class QuantizedLayoutError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly detail: string,
  ) {
    super(`tensor ${tensor}: ${detail}`);
  }
}

/**
 * A quantisation config (config.json `quantization_config`, hf_quant_config.json) names a method or
 * algorithm edgetron cannot load for a tensor it quantises: names the tensor, the value, where it
 * came from and the supported choices.
 */
export class UnsupportedQuantizationError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly value: string,
    readonly source: string,
    readonly supported: readonly string[],
  ) {
    super(`tensor ${tensor}: ${source} says ${value}, which edgetron cannot load; supported: ${supported.join(', ')}`);
  }
}

/** A tensor holds fewer (or more) bytes than its dtype and shape need. */
export class TruncatedTensorError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly expectedBytes: number,
    readonly actualBytes: number,
  ) {
    super(`tensor ${tensor} holds ${actualBytes} bytes; its dtype and shape need ${expectedBytes}`);
  }
}

/** A 2:4 position code outside the 6 legal ones (engine/formats/sparse24.ts). */
export class IllegalPositionCodeError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly group: number,
    readonly code: number,
  ) {
    super(`tensor ${tensor}: group ${group} has position code 0x${code.toString(16)}; legal codes: 0x4, 0x8, 0xc, 0x9, 0xd, 0xe`);
  }
}

/** A matrix to store as 2:4 has a group of 4 with more than 2 non-zeros. */
export class SparsityPatternError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly row: number,
    readonly group: number,
    readonly nonZeros: number,
  ) {
    super(`tensor ${tensor}: row ${row}, group ${group} has ${nonZeros} non-zeros; 2:4 allows at most 2`);
  }
}

/** A GGUF tensor is stored in a ggml type edgetron cannot import (the file, the tensor, the type, the choices). */
export class UnsupportedGgufTypeError extends EdgetronError {
  constructor(
    readonly file: string,
    readonly tensor: string,
    readonly ggmlType: string,
    readonly supported: readonly string[],
  ) {
    super(`${file}: tensor ${tensor} has ggml type ${ggmlType}; supported: ${supported.join(', ')}`);
  }
}

/** A checkpoint's architecture is not a NemotronH one (the file, the architecture, the choices). */
export class UnsupportedArchitectureError extends EdgetronError {
  constructor(
    readonly file: string,
    readonly architecture: string,
    readonly supported: readonly string[],
  ) {
    super(`${file}: architecture ${JSON.stringify(architecture)} is not supported; expected one of: ${supported.join(', ')}`);
  }
}

/** A tensor is larger than one edge-pack shard may be (Workers static assets are capped at 25 MiB). */
export class ShardLimitError extends EdgetronError {
  constructor(
    readonly tensor: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(`tensor ${tensor} has ${bytes} bytes, more than the ${limitBytes}-byte edge-pack shard limit; quantise it, or serve the pack from R2`);
  }
}

/** A labelled data set (CSV of numeric features then an integer label) is malformed; names the source and line. */
export class DatasetError extends EdgetronError {
  constructor(
    readonly source: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${source}${line > 0 ? `:${line}` : ''}: ${detail}`);
  }
}

/** A stored metric (L.json) is malformed or does not fit the data it is applied to. */
export class MetricFormatError extends EdgetronError {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
  }
}

/** No WebGPU adapter is available (no `navigator.gpu`, or `requestAdapter()` gave none). */
export class NoGpuAdapterError extends EdgetronError {
  constructor(readonly detail: string) {
    super(`webgpu: no adapter: ${detail}`);
  }
}

/** The WebGPU device was lost (driver reset, out of memory, dispose); the model must be reloaded. */
export class DeviceLostError extends EdgetronError {
  constructor(readonly reason: string) {
    super(`webgpu: the device was lost (${reason}); call reload() on the model, or load it again`);
  }
}

/** The WebGPU device reported an error while running the model (validation, internal). */
export class GpuDeviceError extends EdgetronError {
  constructor(readonly detail: string) {
    super(`webgpu: ${detail}`);
  }
}

/** The wasm backend's kernel threads could not start (no shared memory of that size, a worker that failed to load); the model can still run on one thread. */
export class ThreadStartError extends EdgetronError {
  constructor(
    readonly threads: number,
    readonly detail: string,
  ) {
    super(`wasm: ${threads} kernel threads could not start: ${detail}`);
  }
}

/** A JSON Schema the grammar cannot enforce (`unsupported`) or that is malformed, at `path` (a JSON Pointer). */
export class SchemaError extends EdgetronError {
  constructor(
    readonly path: string,
    readonly feature: string,
    readonly unsupported: boolean,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** No folder above the running file holds edgetron's package.json (a broken install). */
export class PackageRootError extends EdgetronError {
  constructor(readonly file: string) {
    super(`${file}: cannot find the edgetron package root`);
  }
}

/** A shard of a sharded model (engine/shard) raised `remoteName` while running `op`. */
export class ShardError extends EdgetronError {
  constructor(
    readonly shard: number,
    readonly op: string,
    readonly remoteName: string,
    readonly detail: string,
  ) {
    super(`shard ${shard} (${op}): ${remoteName}: ${detail}`);
  }
}

/**
 * A shard of a sharded model is gone (its thread exited or was stopped) while or before it ran
 * `op`; its sequences are lost with it, and the next new sequence reloads it.
 */
export class ShardLostError extends EdgetronError {
  constructor(
    readonly shard: number,
    readonly op: string,
    readonly detail: string,
  ) {
    super(`shard ${shard} was lost during ${op}: ${detail}; the request cannot go on, the next one reloads the shard`);
  }
}
