// Every failure the API answers with, as data. Handlers throw these; one error handler (app.ts) writes them.
// The bodies are the documented envelopes of openapi.yaml, nothing else.
import { oneLine } from "../one-line.js";

export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? status));
  }
}

/** `{success: false, message}`: the envelope of 400, 404, 405, 413, 415, 429 and 503. */
export const failure = (status: number, message: string, headers?: Record<string, string>) =>
  new ApiError(status, { success: false, message }, headers);

export const MESSAGES = {
  missingToken: "Missing Bearer Token",
  invalidToken: "Invalid Bearer Token",
  agentNotFound: "Agent not found in this environment.",
  campaignNotFound: "Campaign not found in this environment.",
  webhookNotFound: "Webhook not found.",
  logNotFound: "Log not found.",
  routeNotFound: "Route not found.",
  invalidData: "The given data was invalid.",
  malformedJson: "The request body is not a valid JSON object.",
  malformedUrl: "The request URL is malformed.",
  tooLarge: "The request body is too large.",
  unsupportedMediaType: "The request body must be application/json.",
  tooManyRequests: "Too many requests. Please try again later.",
  notRetriable: "Log cannot be retried",
  intakeDisabled: "Event intake is disabled on this server.",
  metricsDisabled: "Metrics are disabled on this server.",
  serviceUnavailable: "The service is temporarily unavailable. Please try again shortly.",
  internalError: "Something went wrong on our side. Please try again.",
} as const;

/** 401 bodies carry only `message`, as Talkover's API does. */
export const unauthorized = (message: string) => new ApiError(401, { message });

export const notFound = (message: string) => failure(404, message);

export const validationFailed = (errors: FieldErrors) =>
  new ApiError(422, { message: MESSAGES.invalidData, errors });

/** openapi.yaml's ValidationError: the longest message a 422 lists (a longer one is cut), … */
export const MAX_FIELD_MESSAGE_LENGTH = 1000;
/** …the longest field name (cut too), the most messages per field and the most fields (further ones left out). */
export const MAX_FIELD_NAME_LENGTH = 255;
export const MAX_FIELD_MESSAGES = 20;
export const MAX_ERROR_FIELDS = 100;

/** A field's name as a 422 lists it, and as its messages quote it. */
export const fieldName = (field: string): string => oneLine(field, MAX_FIELD_NAME_LENGTH);

/**
 * Lists `message` under `field` within openapi.yaml's ValidationError bounds. Field names can quote the
 * client (an unknown field's name), so they are cut like messages; a request with thousands of unknown
 * fields gets the first hundred named.
 */
export function addFieldError(errors: FieldErrors, field: string, message: string): void {
  const name = fieldName(field);
  let list = errors[name];
  if (list === undefined) {
    if (Object.keys(errors).length >= MAX_ERROR_FIELDS) return;
    list = errors[name] = [];
  }
  if (list.length < MAX_FIELD_MESSAGES && !list.includes(message)) list.push(message);
}

/**
 * A 422 message as openapi.yaml declares it: one line of at most MAX_FIELD_MESSAGE_LENGTH characters. Messages
 * quote what the client sent (an unknown field's name, a template's unknown variables), which can be as long as
 * the body limit allows and hold line breaks: never echoed whole.
 */
export function fieldMessage(text: string): string {
  return oneLine(text, MAX_FIELD_MESSAGE_LENGTH);
}

/**
 * Collects the field errors of checks made in code, worded with `x-validation-messages` (`templates`):
 * add(field, rule, values) fills {attribute} from the field's name and the other placeholders from values.
 */
export function fieldErrorCollector(templates: Readonly<Record<string, string>>) {
  const errors: FieldErrors = {};
  const add = (path: string, rule: string, values: Record<string, string | number> = {}) => {
    const field = fieldName(path);
    const template = templates[rule] ?? "The {attribute} field is invalid.";
    const message = fieldMessage(
      template.replace(/\{(\w+)\}/g, (_, key: string) =>
        String(key === "attribute" ? field.replace(/_/g, " ") : (values[key] ?? `{${key}}`)),
      ),
    );
    addFieldError(errors, field, message);
  };
  return { errors, add };
}

/** 503 while the database cannot answer: the client should retry after `Retry-After` seconds. */
export const serviceUnavailable = (retryAfterSeconds: number) =>
  failure(503, MESSAGES.serviceUnavailable, { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) });

export const notRetriable = () =>
  new ApiError(422, { success: false, message: MESSAGES.notRetriable, code: "LOG_NOT_RETRIABLE" });
