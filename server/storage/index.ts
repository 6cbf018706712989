// The storage layer's public surface: the HTTP handlers, the delivery engine and the CLI import from here.
export { openDatabase, inTransaction, parseDatabaseUrl } from "./db.js";
export type { Database, Dialect, OpenOptions, DatabaseLocation } from "./db.js";
export { migrate, migrations } from "./migrations.js";
export type { Schema, DeliveryStatus, LogStatus } from "./schema.js";
export { newId, idTimestamp } from "./ids.js";
export { toApiTimestamp, toMillisecondTimestamp, toNullableApiTimestamp } from "./time.js";
export {
  TOKEN_PREFIX,
  createEnvironment,
  findEnvironmentByToken,
  generateToken,
  getEnvironment,
  listEnvironments,
  rotateToken,
} from "./environments.js";
export type { Environment, EnvironmentWithToken } from "./environments.js";
export { createAgent, findAgentInEnvironment, getAgent, listAgents } from "./agents.js";
export type { Agent } from "./agents.js";
export {
  CANCELLED_BY_DELETE,
  CANCELLED_BY_DISABLE,
  createWebhook,
  deleteWebhook,
  findWebhook,
  listEnabledWebhooksForAgent,
  listWebhooks,
  setWebhookEnabled,
  updateWebhook,
  webhookStatus,
} from "./webhooks.js";
export type { Webhook, WebhookInput, WebhookStatus } from "./webhooks.js";
export { countLogs, findLog, insertTestLog, listLogs, purgeLogsBefore } from "./logs.js";
export type { Log, Page, TestLogInput } from "./logs.js";
export {
  CANCELLED_WEBHOOK_INACTIVE,
  claimDueDeliveries,
  getDeliveryStatus,
  queueManualRetry,
  purgeFinishedDeliveriesBefore,
  recordAttempts,
  recordEvent,
  recordEvents,
} from "./deliveries.js";
export type {
  AttemptOutcome,
  ClaimOptions,
  ClaimedDelivery,
  DeliveryIds,
  ManualRetryResult,
  RecordAttemptsInput,
  RecordAttemptsResult,
  RecordEventInput,
  RecordedEvent,
} from "./deliveries.js";
