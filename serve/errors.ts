// DESIGN §6, house style H17/H19: the worker's HTTP errors. Handlers throw these; the one
// `onError` in worker/app.ts turns them into OpenAI-shaped JSON
// `{"error": {"message", "type", "param", "code"}}` with the status each class carries.

import { EdgetronError } from '../engine/core/errors.js';

/** Base class: an HTTP status plus the OpenAI error fields. */
export class ApiError extends EdgetronError {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 408 | 413 | 415 | 429 | 500 | 503 | 504,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  /** The response body. */
  toJSON(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A request field is missing, has the wrong type or is out of range (400). */
export class InvalidRequestError extends ApiError {
  constructor(param: string | null, message: string, code: string | null = 'invalid_value') {
    super(400, message, 'invalid_request_error', param, code);
  }
}

/** The prompt plus max_tokens does not fit the context the worker allows (400). */
export class ContextLengthError extends ApiError {
  constructor(requested: number, limit: number, param: string) {
    super(400, `this request needs ${requested} tokens (prompt + max_tokens) but the context limit is ${limit}`, 'invalid_request_error', param, 'context_length_exceeded');
  }
}

/** Missing or wrong bearer key (401). */
export class AuthenticationError extends ApiError {
  constructor(detail: string) {
    super(401, detail, 'invalid_request_error', null, 'invalid_api_key');
  }
}

/** The requested model is not the one this worker serves (404). */
export class ModelNotFoundError extends ApiError {
  constructor(model: string, served: string) {
    super(404, `The model '${model}' does not exist; this worker serves '${served}'`, 'invalid_request_error', 'model', 'model_not_found');
  }
}

/** No route for the method and path (404), or the path exists with another method (405). */
export class RouteNotFoundError extends ApiError {
  constructor(method: string, path: string, allowed: readonly string[] = []) {
    super(
      allowed.length ? 405 : 404,
      allowed.length ? `${method} is not allowed on ${path}; use ${allowed.join(', ')}` : `no route ${method} ${path}`,
      'invalid_request_error',
      null,
      allowed.length ? 'method_not_allowed' : 'not_found',
    );
  }
}

/** The body is larger than the worker accepts (413). */
export class PayloadTooLargeError extends ApiError {
  constructor(bytes: number | null, limit: number) {
    super(413, `request body ${bytes === null ? 'exceeds' : `of ${bytes} bytes exceeds`} the ${limit}-byte limit`, 'invalid_request_error', null, 'payload_too_large');
  }
}

/** The body is not JSON (415 for a wrong content type). */
export class UnsupportedMediaTypeError extends ApiError {
  constructor(contentType: string) {
    super(415, `Content-Type must be application/json, got '${contentType}'`, 'invalid_request_error', null, 'unsupported_media_type');
  }
}

/** Every generation slot is busy and the queue is full (429, with Retry-After). */
export class RateLimitError extends ApiError {
  constructor(
    readonly retryAfterS: number,
    limit: number,
    queue: number,
    message = `all ${limit} generation slots are busy and the queue of ${queue} is full; retry after ${retryAfterS} s`,
    code = 'rate_limit_exceeded',
  ) {
    super(429, message, 'rate_limit_error', null, code);
  }
}

/** A request waited in the queue past its deadline without getting a slot (429, with Retry-After). */
export class QueueTimeoutError extends RateLimitError {
  constructor(waitedS: number, retryAfterS: number) {
    super(retryAfterS, 0, 0, `the request waited ${waitedS} s in the queue without getting a generation slot; retry after ${retryAfterS} s`, 'queue_timeout');
  }
}

/** The request body did not arrive within the read deadline (408). */
export class BodyTimeoutError extends ApiError {
  constructor(seconds: number) {
    super(408, `the request body did not arrive within ${seconds} s`, 'invalid_request_error', null, 'request_body_timeout');
  }
}

/** The model cannot be served here, e.g. it does not fit the isolate's memory (503). */
export class ModelUnavailableError extends ApiError {
  constructor(detail: string) {
    super(503, detail, 'server_error', null, 'model_unavailable');
  }
}

/** The generation ran past the per-request deadline (EDGETRON_REQUEST_TIMEOUT_S) and was stopped (504). */
export class RequestTimeoutError extends ApiError {
  constructor(seconds: number) {
    super(504, `the generation ran past the ${seconds} s request deadline and was stopped`, 'server_error', null, 'request_timeout');
  }
}

/** The reason a stream is errored when its client stopped reading (EDGETRON_STALL_TIMEOUT_S). */
export class StreamStalledError extends EdgetronError {
  constructor(seconds: number) {
    super(`the client did not read the stream for ${seconds} s; the generation was cancelled and its slot freed`);
  }
}

/** Anything unexpected (500); the message names the error class. */
export class InternalError extends ApiError {
  constructor(err: unknown) {
    super(500, `internal error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, 'server_error', null, 'internal_error');
  }
}

/** The model's estimated resident size exceeds the isolate memory limit. */
export class ModelTooLargeError extends EdgetronError {
  constructor(
    readonly source: string,
    readonly estimatedBytes: number,
    readonly limitBytes: number,
    detail: string,
  ) {
    super(
      `${source}: the model needs about ${(estimatedBytes / 2 ** 20).toFixed(1)} MiB (${detail}) but a Worker isolate has ${(limitBytes / 2 ** 20).toFixed(0)} MiB; use a smaller or quantised model`,
    );
  }
}

/** A classifier id that the CLASSIFIERS KV namespace does not hold: never created, or expired (404). */
export class ClassifierNotFoundError extends ApiError {
  constructor(readonly id: string) {
    super(404, `The classifier '${id}' does not exist (never created, or expired)`, 'invalid_request_error', 'classifier', 'classifier_not_found');
  }
}
