// Start-up guarantees: every operation of openapi.yaml has a handler, and configuration is validated.
import { describe, expect, it } from "vitest";
import { bindHandlers, specOperationIds } from "../../server/app.js";
import { ConfigError, DEFAULT_CONFIG, loadConfig } from "../../server/config.js";
import { loadSpec } from "../../server/spec.js";

describe("binding handlers to operationIds", () => {
  const spec = loadSpec();
  const all = Object.fromEntries(specOperationIds(spec).map((id) => [id, () => undefined]));

  it("finds the eleven operations of each webhook resource (nine, the secret rotation, recovery), the two intakes, the two probes and the metrics", () => {
    expect(specOperationIds(spec).sort()).toEqual(
      [
        "listWebhooks", "createWebhook", "showWebhook", "updateWebhook", "deleteWebhook", "toggleWebhook",
        "testWebhook", "listWebhookLogs", "retryWebhookLog", "ingestEvent", "getHealth", "getReadiness",
        "listCampaignWebhooks", "createCampaignWebhook", "showCampaignWebhook", "updateCampaignWebhook",
        "deleteCampaignWebhook", "toggleCampaignWebhook", "testCampaignWebhook", "listCampaignWebhookLogs",
        "retryCampaignWebhookLog", "ingestCampaignEvent", "getMetrics", "rotateWebhookSecret", "rotateCampaignWebhookSecret", "recoverWebhook", "recoverCampaignWebhook",
      ].sort(),
    );
  });

  it("an operation of the spec without a handler fails at start-up, naming it", () => {
    const { retryWebhookLog: _dropped, ...missingOne } = all;
    expect(() => bindHandlers(spec, missingOne)).toThrow("openapi.yaml operations without a handler: retryWebhookLog");
    expect(bindHandlers(spec, all)).toBe(all);
  });
});

describe("configuration from the environment", () => {
  it("is the documented defaults when nothing is set", () => {
    expect(loadConfig({})).toEqual({ ...DEFAULT_CONFIG, validateResponses: true });
    expect(loadConfig({ NODE_ENV: "production" }).validateResponses).toBe(false);
  });

  it("reads every variable", () => {
    const config = loadConfig({
      PORT: "8080", HOST: "127.0.0.1", DATABASE_URL: "postgres://x/y", LOG_LEVEL: "debug", BODY_LIMIT_BYTES: "2048",
      RATE_LIMIT_PER_MINUTE: "1000", VALIDATE_RESPONSES: "false", TALKOVER_SERVICE_TOKEN: "svc",
      TALKOVER_ALLOW_PRIVATE_TARGETS: "true", TALKOVER_WORKER: "off", WORKER_CONCURRENCY: "8",
      WEBHOOK_ERROR_THRESHOLD: "3", LOG_RETENTION_DAYS: "7", WORKER_LEASE_MS: "5000", WORKER_POLL_INTERVAL_MS: "100",
      SECRET_ROTATION_OVERLAP_HOURS: "48",
      CORS_ORIGINS: "https://app.example.com",
    });
    expect(config).toEqual({
      port: 8080, host: "127.0.0.1", databaseUrl: "postgres://x/y", logLevel: "debug", bodyLimitBytes: 2048,
      rateLimitPerMinute: 1000, validateResponses: false, serviceToken: "svc", allowPrivateTargets: true, worker: false,
      workerConcurrency: 8, errorThreshold: 3, logRetentionDays: 7, workerLeaseMs: 5000, workerPollIntervalMs: 100,
      secretRotationOverlapHours: 48,
      corsOrigins: ["https://app.example.com"],
    });
  });

  it("rejects a value out of range with the variable's name", () => {
    expect(() => loadConfig({ PORT: "70000" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "abc" })).toThrow("PORT must be an integer between 0 and 65535");
    expect(() => loadConfig({ TALKOVER_ALLOW_PRIVATE_TARGETS: "maybe" })).toThrow("TALKOVER_ALLOW_PRIVATE_TARGETS must be true or false");
    expect(() => loadConfig({ SECRET_ROTATION_OVERLAP_HOURS: "721" })).toThrow("SECRET_ROTATION_OVERLAP_HOURS must be an integer between 0 and 720");
  });
});
