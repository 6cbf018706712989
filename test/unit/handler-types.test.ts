// The handler table is checked against generated/api.ts by `tsc --noEmit` (tsconfig includes test/): the
// `@ts-expect-error` lines below fail the type check the day such a mistake compiles again. The functions
// holding them are never called; vitest runs the expectTypeOf checks (no-ops at run time) and the one
// run-time check, that the validator defaults the types assume are those of openapi.yaml.
import { describe, expect, expectTypeOf, it } from "vitest";
import type { components } from "../../generated/api.js";
import type { AppContext, Resolved } from "../../server/http/context.js";
import { VALIDATOR_DEFAULTS, type ApiRequest, type HandlerTable, type Locals, type ServedOperationId, type SuccessBody } from "../../server/http/handler.js";
import { healthHandlers } from "../../server/http/health.js";
import { internalHandlers } from "../../server/http/internal.js";
import { metricsHandlers } from "../../server/http/metrics.js";
import { campaignWebhookHandlers } from "../../server/http/campaign-webhooks.js";
import { webhookHandlers } from "../../server/http/webhooks.js";
import { loadSpec } from "../../server/spec.js";

type Schemas = components["schemas"];

export function aTableMissingAHandler(ctx: AppContext) {
  const { getReadiness: _dropped, ...health } = healthHandlers(ctx);
  // @ts-expect-error Property 'getReadiness' is missing
  ({ ...webhookHandlers(ctx), ...campaignWebhookHandlers(ctx), ...internalHandlers(ctx), ...health, ...metricsHandlers(ctx) }) satisfies HandlerTable;
  ({ ...webhookHandlers(ctx), ...campaignWebhookHandlers(ctx), ...internalHandlers(ctx), ...healthHandlers(ctx), ...metricsHandlers(ctx) }) satisfies HandlerTable;
}

export function aMisspeltOperationId() {
  ({
    // @ts-expect-error 'showWebhooks' does not exist in the table
    showWebhooks: () => undefined,
  }) satisfies Partial<HandlerTable>;
}

export function aResponseTheSpecDoesNotDocument() {
  ({
    showWebhook(_req, res) {
      // @ts-expect-error WebhookResponse has `data`, not `webhook`
      res.json({ success: true, webhook: {} });
    },
    deleteWebhook(_req, res) {
      // @ts-expect-error SuccessMessage's `success` is the constant true
      res.json({ success: false, message: "Webhook deleted successfully" });
    },
  }) satisfies Partial<HandlerTable>;
}

export function aBodyFieldOrLocalTheOperationDoesNotHave() {
  ({
    updateWebhook(req) {
      // @ts-expect-error WebhookUpdate has `webhook_url`, not `url`
      void req.body.url;
    },
    ingestEvent(_req, res) {
      // @ts-expect-error the intake authenticates a service, not an environment
      void res.locals.environment;
    },
    listWebhooks(_req, res) {
      // @ts-expect-error the path has no webhook
      void res.locals.webhook;
    },
    showCampaignWebhook(_req, res) {
      // @ts-expect-error a campaign's path has no agent
      void res.locals.agent;
    },
  }) satisfies Partial<HandlerTable>;
}

describe("handler types from generated/api.ts", () => {
  it("serve the operations of `paths`, not those of `webhooks:`", () => {
    expectTypeOf<ServedOperationId>().toEqualTypeOf<
      | "listWebhooks" | "createWebhook" | "showWebhook" | "updateWebhook" | "deleteWebhook" | "toggleWebhook"
      | "testWebhook" | "listWebhookLogs" | "retryWebhookLog" | "ingestEvent" | "getHealth" | "getReadiness"
      | "listCampaignWebhooks" | "createCampaignWebhook" | "showCampaignWebhook" | "updateCampaignWebhook"
      | "deleteCampaignWebhook" | "toggleCampaignWebhook" | "testCampaignWebhook" | "listCampaignWebhookLogs"
      | "retryCampaignWebhookLog" | "ingestCampaignEvent" | "getMetrics" | "rotateWebhookSecret" | "rotateCampaignWebhookSecret" | "recoverWebhook" | "recoverCampaignWebhook"
    >();
  });

  it("give the request what the validator leaves in it", () => {
    expectTypeOf<ApiRequest<"createWebhook">["body"]["timeout"]>().toEqualTypeOf<number>();
    expectTypeOf<ApiRequest<"createWebhook">["body"]["webhook_secret"]>().toEqualTypeOf<Schemas["WebhookSecret"] | undefined>();
    expectTypeOf<ApiRequest<"updateWebhook">["body"]["timeout"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ApiRequest<"testWebhook">["body"]>().toEqualTypeOf<Schemas["WebhookTestRequest"] | undefined>();
    expectTypeOf<ApiRequest<"listWebhookLogs">["query"]>().toEqualTypeOf<{
      page: number;
      per_page: number;
      status?: Schemas["WebhookLogStatus"];
      event?: Schemas["WebhookLogEvent"];
      since?: string;
      until?: string;
    }>();
    expectTypeOf<ApiRequest<"createCampaignWebhook">["body"]["include_call_events"]>().toEqualTypeOf<boolean>();
    expectTypeOf<ApiRequest<"retryWebhookLog">["params"]>().toEqualTypeOf<{ agent_id: string; webhook_id: string; log_id: string }>();
  });

  it("answer the 2xx bodies of the spec", () => {
    expectTypeOf<SuccessBody<"createWebhook">>().toEqualTypeOf<Schemas["WebhookCreatedResponse"]>();
    expectTypeOf<SuccessBody<"ingestEvent">>().toEqualTypeOf<Schemas["EventAcceptedResponse"]>();
  });

  it("give res.locals what the middlewares mounted on the operation's path resolve", () => {
    expectTypeOf<Locals<"showWebhook">>().toEqualTypeOf<Pick<Resolved, "environment" | "agent" | "webhook">>();
    expectTypeOf<Locals<"listWebhooks">>().toEqualTypeOf<Pick<Resolved, "environment" | "agent">>();
    expectTypeOf<Locals<"showCampaignWebhook">>().toEqualTypeOf<Pick<Resolved, "environment" | "campaign" | "webhook">>();
    expectTypeOf<Locals<"listCampaignWebhooks">>().toEqualTypeOf<Pick<Resolved, "environment" | "campaign">>();
    expectTypeOf<Locals<"ingestEvent">>().toEqualTypeOf<Record<never, never>>();
  });

  it("assume the defaults openapi.yaml declares, no more and no fewer", () => {
    const spec = loadSpec();
    const declared: Record<string, { body?: string[]; query?: string[] }> = {};
    for (const item of Object.values<Record<string, any>>(spec.document.paths)) {
      for (const operation of Object.values<any>(item)) {
        if (!operation?.operationId) continue;
        const bodySchema = spec.resolve<any>(spec.resolve<any>(operation.requestBody ?? {}).content?.["application/json"]?.schema ?? {});
        const body = Object.entries<any>(bodySchema.properties ?? {}).filter(([, s]) => spec.resolve<any>(s).default !== undefined);
        const query = (operation.parameters ?? [])
          .map((p: unknown) => spec.resolve<any>(p))
          .filter((p: any) => p.in === "query" && spec.resolve<any>(p.schema).default !== undefined);
        const found = { ...(body.length && { body: body.map(([name]) => name).sort() }), ...(query.length && { query: query.map((p: any) => p.name).sort() }) };
        if (Object.keys(found).length) declared[operation.operationId] = found;
      }
    }
    const assumed = Object.fromEntries(
      Object.entries(VALIDATOR_DEFAULTS).map(([id, where]) => [id, Object.fromEntries(Object.entries(where).map(([w, names]) => [w, [...names].sort()]))]),
    );
    expect(assumed).toEqual(declared);
  });
});
