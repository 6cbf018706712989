import { createServer, type Server } from "node:net";
import { describe, expect, test } from "vitest";
import { createTalkoverClient, startMock } from "../../client/index.js";
import { freePort } from "../../client/mock.js";

describe("startMock", () => {
  test("serves the document's examples on the port asked, and stop() ends Prism", async () => {
    const port = await freePort();
    const mock = await startMock({ port, startTimeoutMs: 100_000 });
    expect(mock.url).toBe(`http://127.0.0.1:${port}`);
    try {
      const client = createTalkoverClient({ baseUrl: mock.url, token: "talq_any" });
      const { data } = await client.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
        params: { path: { agent_id: "9fbef0b7-8d4e-4a08-9207-66c22155721d", webhook_id: "9fcafbf2-7593-44d6-8cd7-1b221beba62a" } },
      });
      expect(data?.data.name).toBe("My Webhook");
    } finally {
      await mock.stop();
    }
    // Nothing listens any more: Prism itself is gone, not only a wrapper process.
    await expect(fetch(`${mock.url}/healthz`)).rejects.toThrow();
  }, 150_000);

  test("a port already taken is a clear error, not a hang", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startMock({ port })).rejects.toThrow(/Prism (exited|did not start)/);
    } finally {
      taken.close();
    }
  }, 60_000);
});
