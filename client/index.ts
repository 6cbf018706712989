// The typed Talkover client: openapi-fetch over the paths generated from openapi.yaml, plus a bearer-token
// middleware, opt-in retries of 429 and 503 and an iterator over log pages. Every call returns `{ data, error, response }`:
// `error` is the documented body of the failure (401, 404, 422, 429…), never a thrown string.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { paths } from "../generated/api.js";
import { logPages, logRows, type LogPagesOptions } from "./logs.js";
import { retrying, type FetchFn, type RetryOptions, type RetryPolicy } from "./retry.js";
import type { WebhookLog, WebhookLogPage } from "./types.js";

export const DEFAULT_BASE_URL = "https://app.talkover.ai";

export interface TalkoverClientOptions {
  /** The API's origin; the document's paths are full (`/api/v1/…`). Default `https://app.talkover.ai`. */
  baseUrl?: string;
  /**
   * An environment token (`talq_…`), or the service token for the Internal operations. Sent as
   * `Authorization: Bearer …` unless a call sets its own `Authorization`; `""` sends none.
   */
  token: string;
  /** A `fetch` to send requests with (tests inject one); default `globalThis.fetch`. */
  fetch?: (input: Request) => Promise<Response>;
  /** Retry `429 Too Many Requests`, waiting as `Retry-After` / `X-RateLimit-Reset` say. Off by default. */
  retryOn429?: boolean | RetryOptions;
  /**
   * Retry `503 Service Unavailable` (the database is away), waiting as `Retry-After` says, for the requests
   * that are safe to send twice: GET, PUT, DELETE, and intake POSTs with an `idempotency_key`. Off by default.
   */
  retryOn503?: boolean | RetryOptions;
}

export interface TalkoverClient extends Client<paths> {
  /** Every log row of a webhook, newest first, fetching page after page. Throws `TalkoverApiError` on a failed page. */
  logs(agentId: string, webhookId: string, options?: LogPagesOptions): AsyncGenerator<WebhookLog, void, undefined>;
  /** The same walk, one whole page (rows and `pagination`) at a time. */
  logPages(agentId: string, webhookId: string, options?: LogPagesOptions): AsyncGenerator<WebhookLogPage, void, undefined>;
  /** `logs` for a campaign's webhook. */
  campaignLogs(campaignId: string, webhookId: string, options?: LogPagesOptions): AsyncGenerator<WebhookLog, void, undefined>;
  /** `logPages` for a campaign's webhook. */
  campaignLogPages(campaignId: string, webhookId: string, options?: LogPagesOptions): AsyncGenerator<WebhookLogPage, void, undefined>;
}

export function bearerToken(token: string): Middleware {
  return {
    onRequest({ request }) {
      if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    },
  };
}

export function createTalkoverClient(options: TalkoverClientOptions): TalkoverClient {
  const { baseUrl = DEFAULT_BASE_URL, token, retryOn429 = false, retryOn503 = false } = options;
  // Looked up per call, not captured: a test that swaps globalThis.fetch later still gets its fetch.
  let fetch: FetchFn = options.fetch ?? ((request, init) => globalThis.fetch(request, init));
  const policy: RetryPolicy = {};
  if (retryOn429) policy.on429 = retryOn429 === true ? {} : retryOn429;
  if (retryOn503) policy.on503 = retryOn503 === true ? {} : retryOn503;
  if (policy.on429 || policy.on503) fetch = retrying(fetch, policy);

  const client = createClient<paths>({ baseUrl, fetch });
  client.use(bearerToken(token));
  return Object.assign(client, {
    logs: (agentId: string, webhookId: string, pageOptions?: LogPagesOptions) => logRows(client, { agentId }, webhookId, pageOptions),
    logPages: (agentId: string, webhookId: string, pageOptions?: LogPagesOptions) => logPages(client, { agentId }, webhookId, pageOptions),
    campaignLogs: (campaignId: string, webhookId: string, pageOptions?: LogPagesOptions) =>
      logRows(client, { campaignId }, webhookId, pageOptions),
    campaignLogPages: (campaignId: string, webhookId: string, pageOptions?: LogPagesOptions) =>
      logPages(client, { campaignId }, webhookId, pageOptions),
  });
}

export { TalkoverApiError, type ListLogsErrorBody, type LogPagesOptions } from "./logs.js";
export { retryDelayMs, safeToRepeat, type RetryOn429Options, type RetryOptions } from "./retry.js";
export { verifyWebhook, webhookMiddleware, WebhookVerificationError, type VerifyOptions, type WebhookHeaders, type WebhookSecrets } from "./receive.js";
export { packageSpecPath, startMock, startProxy, type MockServer, type StartMockOptions } from "./mock.js";
export type * from "./types.js";
