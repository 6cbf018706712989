// Limits the server keeps in code so that what openapi.yaml declares of its answers holds: at most 100 webhooks
// per agent or campaign (the lists' maxItems), and 422 messages of one line and at most 1,000 characters
// however long or odd the field name the client sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { DIALECTS, validWebhook, webhooksPath } from "./helpers.js";

const campaignWebhooksPath = (t: TestServer) => `/api/v1/campaigns/${t.campaignId}/webhooks`;
const campaignWebhook = { ...validWebhook, events: ["campaign.started"] };

async function fill(t: TestServer, path: string, body: Record<string, unknown>, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await t.api(path, { method: "POST", body: { ...body, name: `Hook ${i}` } });
    expect(r.status, r.text).toBe(201);
    ids.push(r.body.data.id);
  }
  return ids;
}

describe.each(DIALECTS)("resource limits on %s", (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(dialect);
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it("an agent has at most 100 webhooks: the 101st is a 422 on agent_id, and deleting one makes room", async () => {
    const ids = await fill(t, webhooksPath(t), validWebhook, 100);
    const list = await t.api(webhooksPath(t));
    expect(list.body.data.webhooks).toHaveLength(100); // and the response validator checked maxItems
    const over = await t.api(webhooksPath(t), { method: "POST", body: validWebhook });
    expect(over.status).toBe(422);
    expect(componentErrors("ValidationError", over.body)).toEqual([]);
    expect(over.body).toEqual({
      message: "The given data was invalid.",
      errors: { agent_id: ["The agent already has 100 webhooks, the most one may have: delete one first."] },
    });
    expect((await t.api(`${webhooksPath(t)}/${ids[0]}`, { method: "DELETE" })).status).toBe(200);
    expect((await t.api(webhooksPath(t), { method: "POST", body: validWebhook })).status).toBe(201);
  }, 300_000);

  it("a campaign has at most 100 webhooks, also when creates come at once: 110 at once make 100 and ten 422s on campaign_id", async () => {
    const path = campaignWebhooksPath(t);
    const answers = await Promise.all(Array.from({ length: 110 }, (_, i) => t.api(path, { method: "POST", body: { ...campaignWebhook, name: `Hook ${i}` } })));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(100);
    const over = answers.filter((r) => r.status !== 201);
    expect(over.map((r) => r.status)).toEqual(Array(10).fill(422));
    for (const r of over) expect(r.body.errors).toEqual({ campaign_id: ["The campaign already has 100 webhooks, the most one may have: delete one first."] });
    expect((await t.api(path)).body.data.webhooks).toHaveLength(100);
  }, 300_000);

  it("a 422 names a field on one line of at most 255 characters, and its message quotes that name", async () => {
    const long = "x".repeat(5000);
    const r = await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, [long]: 1, "line\nbreak": 2 } });
    expect(r.status).toBe(422);
    expect(componentErrors("ValidationError", r.body)).toEqual([]);
    const cut = `${"x".repeat(254)}…`;
    expect(r.body.errors[cut]).toEqual([`The ${cut} field is prohibited.`]);
    expect(r.body.errors["line break"]).toEqual(["The line break field is prohibited."]);
  });
});
