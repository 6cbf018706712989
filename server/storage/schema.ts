// Row shapes as the database stores them (snake_case, epoch-millisecond bigints, JSON as text).
// Modules in this folder turn them into the camelCase records the rest of the server uses.
import type { ColumnType, Generated } from "kysely";

/** A boolean column: PostgreSQL answers true/false, SQLite stores 0/1 (see dialect.ts). */
export type DbBoolean = ColumnType<boolean | number, boolean | number, boolean | number>;

/** Epoch milliseconds in a bigint column; pg's int8 parser is set to return a JS number (db.ts). */
export type Millis = number;

export interface EnvironmentTable {
  id: string;
  name: string;
  /** Hex SHA-256 of the bearer token; the token itself is never stored. */
  token_hash: string;
  /** Last characters of the token, so that an operator can tell tokens apart. Not a secret. */
  token_hint: string;
  created_at: Millis;
  token_rotated_at: Millis;
}

export interface AgentTable {
  id: string;
  environment_id: string;
  name: string;
  created_at: Millis;
}

/** An outbound calling run of an environment, optionally of one agent (migration 0003). */
export interface CampaignTable {
  id: string;
  environment_id: string;
  name: string;
  agent_id: string | null;
  created_at: Millis;
}

export interface WebhookTable {
  id: string;
  /** The owner: exactly one of agent_id and campaign_id is set (a CHECK since migration 0003). */
  agent_id: string | null;
  campaign_id: string | null;
  name: string;
  webhook_url: string;
  webhook_secret: string | null;
  /** JSON array of event names. */
  events: string;
  /** Seconds. */
  timeout: number;
  max_retries: number;
  enabled: DbBoolean;
  consecutive_failures: Generated<number>;
  /** Number of log rows of this webhook, kept by every write that inserts or purges logs. */
  logs_total: Generated<number>;
  created_at: Millis;
  updated_at: Millis;
  deleted_at: Millis | null;
  /** Delivery options (migration 0002). POST, PUT or PATCH. */
  http_method: Generated<string>;
  /** none, bearer, basic, api_key or custom. */
  authorization_scheme: Generated<string>;
  /** JSON object of the scheme's credentials; never returned, never logged. */
  authorization_credentials: string | null;
  /** JSON array of {key, value}. */
  custom_headers: Generated<string>;
  /** JSON object: event name → template. */
  payload_templates: Generated<string>;
  /** A campaign's webhook that also receives the events of its calls' agents (migration 0003; default false). */
  include_call_events: ColumnType<boolean | number, boolean | number | undefined, boolean | number>;
  /**
   * The secret a rotation replaced, still signing beside webhook_secret until previous_secret_expires_at
   * (migration 0005). Never returned, never logged.
   */
  previous_secret: ColumnType<string | null, string | null | undefined, string | null>;
  previous_secret_expires_at: ColumnType<Millis | null, Millis | null | undefined, Millis | null>;
}

export interface EventTable {
  id: string;
  /**
   * The source: an agent's event has agent_id (and campaign_id too when its call belongs to a campaign);
   * a campaign's own event has campaign_id only. Idempotency keys are unique per source.
   */
  agent_id: string | null;
  campaign_id: string | null;
  event: string;
  /** JSON document. */
  data: string;
  occurred_at: Millis;
  idempotency_key: string | null;
  created_at: Millis;
}

export type DeliveryStatus = "pending" | "success" | "failed" | "cancelled";

export interface DeliveryTable {
  id: string;
  event_id: string;
  webhook_id: string;
  status: DeliveryStatus;
  /** Attempts whose outcome has been recorded. */
  attempts: number;
  /** When the delivery is next due. A claim sets it to lease_expires_at: an expired lease is just due. */
  next_attempt_at: Millis;
  /** The worker holding the delivery while it sends; null when nobody does. */
  lease_owner: string | null;
  lease_expires_at: Millis | null;
  /** The log row of the attempt that is queued or under way (the latest one once finished). */
  current_log_id: string;
  created_at: Millis;
  updated_at: Millis;
}

/** The published log statuses; a cancelled delivery closes its queued row as "failed". */
export type LogStatus = "pending" | "success" | "failed" | "retrying";

export interface LogTable {
  id: string;
  webhook_id: string;
  /** Null for the rows written by the "test" endpoint, which have no delivery. */
  delivery_id: string | null;
  event: string;
  attempt: number;
  status: LogStatus;
  http_status: number | null;
  /** The exact body sent (or to be sent) to the receiver. */
  request_payload: string;
  response_body: string | null;
  /** JSON object. */
  response_headers: string | null;
  error: string | null;
  duration_ms: number | null;
  delivered_at: Millis | null;
  created_at: Millis;
}

/** Log rows of a webhook by status and event in one time bucket (migration 0007, storage/log-buckets.ts). */
export interface LogCountTable {
  webhook_id: string;
  /** 0 all time (bucket 0), 1 day, 2 hour, 3 minute. */
  level: number;
  /** The bucket's start, epoch ms. */
  bucket: Millis;
  status: LogStatus;
  event: string;
  n: number;
}

export interface Schema {
  environments: EnvironmentTable;
  agents: AgentTable;
  campaigns: CampaignTable;
  webhooks: WebhookTable;
  events: EventTable;
  deliveries: DeliveryTable;
  logs: LogTable;
  log_counts: LogCountTable;
}
