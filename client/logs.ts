// Walks every page of a webhook's delivery logs (an agent's webhook or a campaign's: the same listing). Pages are numbered from 1 and `pagination.last_page` says
// where they end; an empty page ends the walk too, so a misbehaving server cannot make it loop forever.
import type { Client } from "openapi-fetch";
import type { operations, paths } from "../generated/api.js";
import type { WebhookLog, WebhookLogPage } from "./types.js";

type ListLogs = operations["listWebhookLogs"];

/** The error bodies `listWebhookLogs` can answer (401, 404, 422, 429), as the document types them. */
export type ListLogsErrorBody = {
  [Status in Exclude<keyof ListLogs["responses"], 200>]: ListLogs["responses"][Status]["content"]["application/json"];
}[Exclude<keyof ListLogs["responses"], 200>];

/**
 * Thrown by the iterators only (an iterator has no other way to report a failed page); every other call
 * returns its error body as a value. `body` is the documented error body, `status` its HTTP status.
 */
export class TalkoverApiError<Body = unknown> extends Error {
  override readonly name = "TalkoverApiError";
  constructor(
    readonly status: number,
    readonly body: Body,
    readonly response: Response,
  ) {
    const message = body && typeof body === "object" && "message" in body ? String(body.message) : `HTTP ${status}`;
    super(`Talkover API ${status}: ${message}`);
  }
}

export interface LogPagesOptions {
  /** Rows per page, 1 to 100 (the server's default is 25). */
  perPage?: number;
  /** First page to read, from 1. */
  startPage?: number;
}

/** Whose webhook: an agent's or a campaign's. */
export type WebhookOwner = { agentId: string } | { campaignId: string };

function getPage(client: Client<paths>, owner: WebhookOwner, webhookId: string, query: NonNullable<ListLogs["parameters"]["query"]>) {
  if ("agentId" in owner) {
    return client.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
      params: { path: { agent_id: owner.agentId, webhook_id: webhookId }, query },
    });
  }
  return client.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", {
    params: { path: { campaign_id: owner.campaignId, webhook_id: webhookId }, query },
  });
}

export async function* logPages(
  client: Client<paths>,
  owner: WebhookOwner,
  webhookId: string,
  { perPage, startPage = 1 }: LogPagesOptions = {},
): AsyncGenerator<WebhookLogPage, void, undefined> {
  for (let page = startPage; ; page++) {
    const query: NonNullable<ListLogs["parameters"]["query"]> = { page };
    if (perPage !== undefined) query.per_page = perPage;
    const { data, error, response } = await getPage(client, owner, webhookId, query);
    if (!data) throw new TalkoverApiError<ListLogsErrorBody>(response.status, error, response);
    yield data;
    if (data.data.length === 0 || page >= data.pagination.last_page) return;
  }
}

export async function* logRows(
  client: Client<paths>,
  owner: WebhookOwner,
  webhookId: string,
  options?: LogPagesOptions,
): AsyncGenerator<WebhookLog, void, undefined> {
  for await (const page of logPages(client, owner, webhookId, options)) yield* page.data;
}
