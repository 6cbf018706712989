// The handler table's types, read from generated/api.ts: a handler's path and query parameters, its request
// body, its 2xx JSON body and its res.locals are those of its operation in openapi.yaml, so a missing or
// misspelt operationId, a wrong body field or a response the spec does not document fails `tsc`, not a test.
// Failures (4xx) are thrown as ApiError (errors.ts) and are not part of these types.
import type { Request, Response } from "express";
import type { operations, paths } from "talkover-webhooks/types";
import type { Resolved } from "./context.js";

type Method = "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace";
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** The path that serves operation K: `paths` refers to `operations` by type, not by name, hence the match. */
type PathOf<K extends keyof operations> = {
  [P in keyof paths]: { [M in Method]: Same<paths[P][M], operations[K]> extends true ? P : never }[Method];
}[keyof paths];

/** Every operationId of `paths`; those of `webhooks:` are requests we send, not serve. */
export type ServedOperationId = { [K in keyof operations]: [PathOf<K>] extends [never] ? never : K }[keyof operations];

/**
 * Fields the validator fills from the spec's `default` before a handler runs; openapi-typescript keeps them
 * optional. test/unit/handler-types.test.ts checks this list against openapi.yaml.
 */
export const VALIDATOR_DEFAULTS = {
  createWebhook: { body: ["timeout", "max_retries", "enabled"] },
  createCampaignWebhook: { body: ["include_call_events", "timeout", "max_retries", "enabled"] },
  listWebhookLogs: { query: ["page", "per_page"] },
  listCampaignWebhookLogs: { query: ["page", "per_page"] },
} as const satisfies { [K in ServedOperationId]?: { body?: readonly string[]; query?: readonly string[] } };

type Defaulted<K, Where extends "body" | "query"> = K extends keyof typeof VALIDATOR_DEFAULTS
  ? (typeof VALIDATOR_DEFAULTS)[K] extends { [W in Where]: readonly (infer F)[] }
    ? F
    : never
  : never;
type WithDefaults<T, F> = [F] extends [never] ? T : Flat<Omit<T, F & keyof T> & Required<Pick<T, F & keyof T>>>;
type Flat<T> = { [P in keyof T]: T[P] };

type Operation<K extends ServedOperationId> = operations[K];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
// No index signature: reading a parameter or local the operation does not have is an error, not `never`.
type Nothing = Record<never, never>;
type OrNothing<T> = [NonNullable<T>] extends [never] ? Nothing : NonNullable<T>;

type PathParams<K extends ServedOperationId> = OrNothing<Operation<K>["parameters"]["path"]>;
type Query<K extends ServedOperationId> = WithDefaults<OrNothing<Operation<K>["parameters"]["query"]>, Defaulted<K, "query">>;
/** Undefined when the body is optional and absent (or the operation has none). */
type Body<K extends ServedOperationId> = Operation<K> extends { requestBody: infer B }
  ? WithDefaults<Json<B>, Defaulted<K, "body">>
  : Operation<K> extends { requestBody?: infer B }
    ? Json<NonNullable<B>> | undefined
    : undefined;

/** The JSON body of any 2xx response of K. */
export type SuccessBody<K extends ServedOperationId> = {
  [S in keyof Operation<K>["responses"]]: `${S & number}` extends `2${string}` ? Json<Operation<K>["responses"][S]> : never;
}[keyof Operation<K>["responses"]];

/** What the middlewares of app.ts resolved before K's handler: they are mounted on these path prefixes. */
type LocalsAt<P> = P extends `/api/v1/agents/{agent_id}/webhooks/{webhook_id}${string}`
  ? Pick<Resolved, "environment" | "agent" | "webhook">
  : P extends `/api/v1/agents/{agent_id}${string}`
    ? Pick<Resolved, "environment" | "agent">
    : P extends `/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}${string}`
      ? Pick<Resolved, "environment" | "campaign" | "webhook">
      : P extends `/api/v1/campaigns/{campaign_id}${string}`
        ? Pick<Resolved, "environment" | "campaign">
        : P extends `/api/v1/${string}`
          ? Pick<Resolved, "environment">
          : Nothing;
export type Locals<K extends ServedOperationId> = LocalsAt<PathOf<K>>;

export type ApiRequest<K extends ServedOperationId> = Request<PathParams<K>, SuccessBody<K>, Body<K>, Query<K>, Locals<K>>;
export type ApiResponse<K extends ServedOperationId> = Response<SuccessBody<K>, Locals<K>>;
export type Handler<K extends ServedOperationId> = (req: ApiRequest<K>, res: ApiResponse<K>) => void | Promise<void>;

/** One handler per served operation, each typed from its own operation. */
export type HandlerTable = { [K in ServedOperationId]: Handler<K> };
