// Every limit openapi.yaml declares on a request input, enforced, and those inside each event's data (its
// `webhooks:` entry) at the intakes: generated from the spec itself (test/support/spec-limits.ts), so that a
// limit added later is tested without anyone writing a test for it.
// For each limit, a value AT it is accepted (and, where the server stores it, stored whole: read back from
// the database, never truncated), and one PAST it is a 422 in the seed's style naming the field (never a
// 500). The rest of each request is a known valid one: the operation's first example in the spec, pointed at
// a local receiver and made unique where it must be. Runs on both databases, one server each.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MESSAGES } from "../../server/http/errors.js";
import { loadSpec, webhookEntryKey } from "../../server/spec.js";
import { createAgent } from "../../server/storage/agents.js";
import { createCampaign } from "../../server/storage/campaigns.js";
import { agentOwner, campaignOwner } from "../../server/storage/owner.js";
import { createWebhook, findWebhook, type Webhook } from "../../server/storage/webhooks.js";
import { startReceiver, type Receiver } from "../engine/receiver.js";
import { SERVICE_TOKEN, startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import {
  expectedMessage,
  fieldName,
  findLimits,
  inputLimitName,
  inputSlots,
  limitName,
  UNSUPPORTED,
  valueFor,
  type Limit,
} from "../support/spec-limits.js";
import { DIALECTS } from "./helpers.js";

const spec = loadSpec();
const LIMITS = findLimits(spec);

/** The limits the spec has today (openapi.yaml at this commit): the walk must find at least these. */
const LIMITS_TODAY = 253;

type Json = Record<string, any>;
type Path = (string | number)[];

const operations = new Map<string, { path: string; method: string; operation: Json }>();
for (const [path, item] of Object.entries<Json>(spec.document.paths)) {
  for (const method of ["get", "put", "post", "delete", "patch"]) {
    if (item[method]?.operationId) operations.set(item[method].operationId, { path, method: method.toUpperCase(), operation: item[method] });
  }
}

const get = (value: unknown, path: Path): unknown => path.reduce<any>((at, key) => (at == null ? undefined : at[key]), value);

function set(target: Json, path: Path, value: unknown): void {
  let at: any = target;
  path.slice(0, -1).forEach((key, i) => {
    at[key] ??= typeof path[i + 1] === "number" ? [] : {};
    at = at[key];
  });
  at[path[path.length - 1]!] = value;
}

/** The status a valid request gets: the operation's documented 2xx. */
function successStatus(operationId: string): number {
  const { operation } = operations.get(operationId)!;
  return Number(Object.keys(operation.responses).find((code) => code.startsWith("2")));
}

/**
 * A path with a log in it (a manual retry) has no failed log to retry in this fixture: reaching the log's
 * lookup, after validation, is what "accepted" means there, answered with the documented 404.
 */
const needsFailedLog = (operationId: string) => operations.get(operationId)!.path.includes("{log_id}");

// ─── the known valid request of each operation ──────────────────────────────────────────────────────────────

/** The operation's first example body (its `example`, or the first of its `examples`), resolved. */
function exampleBody(operationId: string): Json | undefined {
  const { operation } = operations.get(operationId)!;
  if (!operation.requestBody) return undefined;
  const content = spec.resolve<Json>(operation.requestBody).content?.["application/json"];
  if (content?.example !== undefined) return structuredClone(content.example);
  const first = Object.values<unknown>(content?.examples ?? {})[0];
  return first === undefined ? {} : structuredClone(spec.resolve<Json>(first).value);
}

/**
 * The example, made valid for this test server: URLs point at the local receiver, recovery ranges are
 * recent, idempotency keys are unique (a repeated key would be a replay, not a stored event).
 */
function baseBody(operationId: string, receiver: Receiver): Json | undefined {
  const body = exampleBody(operationId);
  if (body === undefined) return undefined;
  for (const slot of inputSlots(spec)) {
    if (slot.operationId === operationId && slot.location === "body" && slot.schema.format === "uri" && typeof get(body, slot.field) === "string") {
      set(body, slot.field, receiver.url);
    }
  }
  if (typeof body.since === "string") body.since = new Date(Date.now() - 10 * 60_000).toISOString();
  if (typeof body.until === "string") body.until = new Date(Date.now() - 60_000).toISOString();
  if (typeof body.idempotency_key === "string") body.idempotency_key = `limits-${randomUUID()}`;
  return body;
}

/** The catalogue a webhook of this path subscribes to. */
const catalogue = (path: string) => (path.includes("/campaigns/") ? spec.campaignEvents : spec.events);

/**
 * What a field needs beside it to be valid: credentials come with the scheme that takes them, a custom
 * header with a list to be in, a payload template with its event subscribed.
 */
function withCompanions(t: TestServer, body: Json, field: Path, path: string): void {
  const [top, member] = field;
  // A campaign named in a body must be one of the environment's.
  if (top === "campaign_id") body.campaign_id = t.campaignId;
  if (top === "authorization_credentials") {
    const schemes: Record<string, [string, Json]> = {
      token: ["bearer", { token: "limits-token" }],
      username: ["basic", { username: "limits-user", password: "limits-password" }],
      password: ["basic", { username: "limits-user", password: "limits-password" }],
      value: ["custom", { value: "limits-value" }],
      header_name: ["api_key", { value: "limits-value", header_name: "X-Limits-Key" }],
    };
    const [scheme, credentials] = schemes[String(member)] ?? ["bearer", { token: "limits-token" }];
    body.authorization_scheme = scheme;
    body.authorization_credentials = credentials;
  }
  if (top === "custom_headers" && !Array.isArray(body.custom_headers)) body.custom_headers = [{ key: "X-Limits", value: "limits" }];
  if (top === "payload_templates") body.events = [...catalogue(path)];
}

/**
 * A field of an intake's `data` is sent in its event: the event named, and the data of the event's delivery
 * example (its `webhooks:` entry), which is within every limit.
 */
function withEvent(body: Json, operationId: string, event: string): void {
  const key = webhookEntryKey(operationId === "ingestCampaignEvent" ? "campaign" : "agent", event);
  body.event = event;
  body.data = structuredClone(spec.document.webhooks[key].post.requestBody.content["application/json"].example.data);
}

// ─── the resources a path names ─────────────────────────────────────────────────────────────────────────────

/** Gives a freshly made row (no children yet) the id a case needs, so that the path names a real resource. */
async function renameRow(t: TestServer, table: "agents" | "campaigns" | "webhooks", from: string, to: string): Promise<void> {
  await t.server.database.db.updateTable(table).set({ id: to }).where("id", "=", from).execute();
}

/**
 * The ids for an operation's path: the test server's agent and campaign, a fresh webhook of theirs, and a
 * log id that names no log. A case on a path parameter gets a resource of its own whose id is the value
 * under test, so that the validator, not "not found", answers.
 */
async function pathIds(t: TestServer, receiver: Receiver, operationId: string, override?: { name: string; value: string }): Promise<Json> {
  const { path } = operations.get(operationId)!;
  // Every case has an agent and a campaign of its own (of the test server's environment): what other cases
  // made (webhooks, up to an owner's limit; deliveries) never reaches it.
  const database = t.server.database;
  const agent = await createAgent(database, { environmentId: t.environmentId, name: "Limits agent" });
  const campaign = await createCampaign(database, { environmentId: t.environmentId, name: "Limits campaign", agentId: agent.id });
  const ids: Json = { agent_id: agent.id, campaign_id: campaign.id, log_id: randomUUID() };
  if (override?.name === "agent_id" || override?.name === "campaign_id") {
    const table = override.name === "agent_id" ? "agents" : "campaigns";
    // The campaign points at the agent: renaming the agent would break that reference, so it gets a new one.
    if (table === "agents") await database.db.updateTable("campaigns").set({ agent_id: null }).where("id", "=", campaign.id).execute();
    await renameRow(t, table, ids[override.name], override.value);
    ids[override.name] = override.value;
  }
  if (path.includes("{webhook_id}")) {
    // Made in storage: the API would (rightly) refuse an owner id past its limit.
    const owner = path.includes("/campaigns/") ? campaignOwner(ids.campaign_id) : agentOwner(ids.agent_id);
    const events = [owner.kind === "agent" ? spec.events[0]! : spec.campaignEvents[0]!];
    const input = { name: "Limits", webhookUrl: receiver.url, webhookSecret: null, events, timeout: 30, maxRetries: 3, enabled: true };
    ids.webhook_id = (await createWebhook(database, owner, input)).id;
    if (override?.name === "webhook_id") {
      await renameRow(t, "webhooks", ids.webhook_id, override.value);
      ids.webhook_id = override.value;
    }
  }
  if (override?.name === "log_id") ids.log_id = override.value;
  return ids;
}

// ─── what the server stored ─────────────────────────────────────────────────────────────────────────────────

/** A stored webhook in the shape of the request that made it (write-only fields included, as stored). */
const asRequest = (w: Webhook): Json => ({
  name: w.name,
  webhook_url: w.webhookUrl,
  webhook_secret: w.webhookSecret,
  events: w.events,
  timeout: w.timeout,
  max_retries: w.maxRetries,
  enabled: w.enabled,
  include_call_events: w.includeCallEvents,
  http_method: w.httpMethod,
  authorization_scheme: w.authorizationScheme,
  authorization_credentials: w.authorizationCredentials,
  custom_headers: w.customHeaders,
  payload_templates: w.payloadTemplates,
});

/** The stored record a request made or changed, in its request's shape; undefined for what is not stored. */
async function stored(t: TestServer, operationId: string, ids: Json, response: Json): Promise<Json | undefined> {
  const { path } = operations.get(operationId)!;
  const owner = path.includes("/campaigns/") ? campaignOwner(ids.campaign_id) : agentOwner(ids.agent_id);
  const webhookOf = async (id: string) => asRequest((await findWebhook(t.server.database, owner, id))!);
  if (/^create(Campaign)?Webhook$/.test(operationId)) return webhookOf(response.data.id);
  if (/^(update|rotate)(Campaign)?Webhook(Secret)?$/.test(operationId)) return webhookOf(ids.webhook_id);
  if (/^ingest(Campaign)?Event$/.test(operationId)) {
    const row = await t.server.database.db.selectFrom("events").selectAll().where("id", "=", response.data.event_id).executeTakeFirstOrThrow();
    return {
      event: row.event,
      data: JSON.parse(row.data),
      occurred_at: Number(row.occurred_at),
      idempotency_key: row.idempotency_key,
      campaign_id: row.campaign_id ?? undefined,
    };
  }
  return undefined;
}

// ─── the cases ──────────────────────────────────────────────────────────────────────────────────────────────

interface Case {
  name: string;
  limit: Limit;
  past: boolean;
}

const sideName = (limit: Limit, past: boolean) => `${inputLimitName(limit)}: ${past ? "past limit" : "at limit"}`;

const CASES: Case[] = LIMITS.flatMap((limit) => {
  const op = limit.slot.operationId;
  const accepted = needsFailedLog(op) ? "404 (validated; no such log)" : String(successStatus(op));
  return [
    { name: `${limitName(limit)}: at limit → ${accepted}`, limit, past: false },
    { name: `${limitName(limit)}: past limit → 422`, limit, past: true },
  ].filter((c) => UNSUPPORTED[sideName(limit, c.past)] === undefined);
});

/** Sends one case: the known valid request with the value under test at its place. */
async function send(t: TestServer, receiver: Receiver, { limit, past }: Case) {
  const { slot } = limit;
  const { path, method } = operations.get(slot.operationId)!;
  const known = slot.location === "path" ? randomUUID() : undefined; // the id a fresh resource would have
  const body = baseBody(slot.operationId, receiver);
  if (slot.event !== undefined) withEvent(body!, slot.operationId, slot.event);
  if (slot.location === "body") withCompanions(t, body!, slot.field, path);
  const built = valueFor(limit, slot.location === "body" ? get(body, slot.field) : known, past, spec);
  if ("unsupported" in built) throw new Error(`${limitName(limit)}: ${built.unsupported} (list it in UNSUPPORTED)`);
  const value = built.value;

  const parameter = String(slot.field[0]);
  const ids = await pathIds(t, receiver, slot.operationId, slot.location === "path" ? { name: parameter, value: String(value) } : undefined);
  const url = new URL(path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(ids[name])), t.url);
  const headers: Record<string, string> = {};
  if (slot.location === "body") set(body!, slot.field, value);
  if (slot.location === "query") url.searchParams.set(parameter, String(value));
  if (slot.location === "header") headers[parameter] = String(value);
  const internal = path.startsWith("/internal/");
  const response = await t.api(url.pathname + url.search, { method, body, headers, ...(internal ? { token: SERVICE_TOKEN } : {}) });
  return { response, body, ids };
}

describe("the limits of openapi.yaml", () => {
  it(`finds at least the ${LIMITS_TODAY} limits the spec declares today, on every kind of input`, () => {
    expect(LIMITS.length).toBeGreaterThanOrEqual(LIMITS_TODAY);
    const names = LIMITS.map(limitName);
    // One of each kind (whatever its bound), so the walk cannot pass by finding only the easy ones.
    for (const kind of [
      "createWebhook body.name maxLength",
      "createWebhook body.name minLength",
      "createWebhook body.webhook_url maxLength",
      "createWebhook body.timeout maximum",
      "createWebhook body.max_retries minimum",
      "createWebhook body.events minItems",
      "createWebhook body.custom_headers maxItems",
      "createWebhook body.custom_headers.0.key maxLength",
      "createWebhook body.authorization_credentials.username maxLength",
      "rotateWebhookSecret body.webhook_secret minLength",
      "listWebhookLogs query.per_page maximum",
      "listWebhookLogs query.page minimum",
      "showCampaignWebhook path.webhook_id maxLength",
      "retryWebhookLog path.log_id maxLength",
      "ingestEvent body.idempotency_key maxLength",
      "ingestCampaignEvent path.campaign_id maxLength",
      "createWebhook body.events maxItems",
      "ingestEvent body.occurred_at maxLength",
      // Inside an event's data (its `webhooks:` entry), at any depth.
      "ingestEvent body.data.call_id maxLength",
      "ingestEvent body.data.duration maximum",
      "ingestEvent body.data.duration minimum",
      "ingestEvent body.data.error.message maxLength",
      "ingestCampaignEvent body.data.turns maxItems",
      "ingestCampaignEvent body.data.turns.0.text maxLength",
      "ingestCampaignEvent body.data.changed_fields minItems",
      "ingestCampaignEvent body.data.changed_fields.0 maxLength",
    ]) {
      expect(names.filter((found) => found.startsWith(`${kind} `)), kind).not.toEqual([]);
    }
  });

  it("walks every operation that takes input (parameters or a body)", () => {
    const withInput = [...operations].filter(([, { path, operation }]) => path.includes("{") || operation.parameters?.length || operation.requestBody);
    const walked = new Set(inputSlots(spec).map((slot) => slot.operationId));
    expect(withInput.map(([id]) => id).filter((id) => !walked.has(id))).toEqual([]);
  });

  it("builds a value at and past every limit, but for exactly the ones listed as unsupported", () => {
    const unbuildable = Object.fromEntries(
      LIMITS.flatMap((limit) =>
        [false, true].flatMap((past) => {
          const built = valueFor(limit, undefined, past, spec);
          return "unsupported" in built ? [[sideName(limit, past), built.unsupported]] : [];
        }),
      ),
    );
    expect(Object.keys(unbuildable).sort()).toEqual(Object.keys(UNSUPPORTED).sort());
  });
});

describe.each(DIALECTS)("every limit enforced on %s", (dialect) => {
  let t: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    // The largest body an operator can allow (BODY_LIMIT_BYTES): the limits of an event's data (a transcript of
    // 10,000 turns, a text of 65,536 characters) are past the default 64 KiB body, and are kept past it too.
    t = await startTestServer(dialect, { config: { bodyLimitBytes: 10 * 1024 * 1024 } });
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, testCase) => {
    const { limit, past } = testCase;
    const { slot } = limit;
    const { response, body, ids } = await send(t, receiver, testCase);
    if (past) {
      expect(response.status, response.text).toBe(422);
      expect(componentErrors("ValidationError", response.body)).toEqual([]);
      expect(response.body.message).toBe("The given data was invalid.");
      const field = fieldName(slot);
      expect(response.body.errors[field], response.text).toContain(expectedMessage(limit, spec));
      // Nothing but the field (or its items) is named: the rest of the request was valid.
      expect(Object.keys(response.body.errors).filter((key) => key !== field && !key.startsWith(`${field}.`))).toEqual([]);
      // Nothing stored: an event refused at the intake leaves no row (its idempotency key is unique per case).
      if (/^ingest(Campaign)?Event$/.test(slot.operationId) && typeof body?.idempotency_key === "string") {
        const rows = await t.server.database.db.selectFrom("events").select("id").where("idempotency_key", "=", body.idempotency_key).execute();
        expect(rows).toEqual([]);
      }
      return;
    }
    if (needsFailedLog(slot.operationId)) {
      expect(response.status, response.text).toBe(404);
      expect(response.body).toEqual({ success: false, message: MESSAGES.logNotFound });
      return;
    }
    expect(response.status, response.text).toBe(successStatus(slot.operationId));
    if (slot.location !== "body") return;
    const record = await stored(t, slot.operationId, ids, response.body);
    if (record === undefined) return;
    // Stored whole: the value read back from the database is the one sent, never cut to fit (a date-time is
    // stored as its instant; one in an event's data is stored as sent).
    const sent = get(body, slot.field);
    expect(get(record, slot.field)).toEqual(slot.schema.format === "date-time" && slot.event === undefined ? Date.parse(String(sent)) : sent);
  });
});
