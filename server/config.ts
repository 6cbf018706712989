// Environment variables → one typed, validated config object. Every variable is listed in the README.
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  logLevel: string;
  /** Largest JSON body accepted, in bytes. */
  bodyLimitBytes: number;
  /** Requests per minute per environment token. */
  rateLimitPerMinute: number;
  /** Check every response against openapi.yaml (on unless NODE_ENV=production). */
  validateResponses: boolean;
  /** Bearer token of the internal intake operation; intake is off without one. */
  serviceToken: string | undefined;
  /** Deliver to loopback/private addresses (local development and tests only). */
  allowPrivateTargets: boolean;
  /** Consecutive failed attempts after which a webhook's status is `error`. */
  errorThreshold: number;
  /** Days an attempt log is kept. */
  logRetentionDays: number;
  /** Hours a rotated-out signing secret still signs deliveries beside the new one. */
  secretRotationOverlapHours: number;
  /** Run the delivery worker in this process. */
  worker: boolean;
  /** Deliveries sent at once by this process. */
  workerConcurrency: number;
  /** How long a worker's claim on a delivery holds; keep it above the longest timeout (120 s). */
  workerLeaseMs: number;
  /** How often an idle worker looks for due deliveries written by other processes, and retries. */
  workerPollIntervalMs: number;
  /** Origins (`https://app.example.com`) whose browser pages may call the API; none by default. */
  corsOrigins: readonly string[];
}

export const DEFAULT_CONFIG: Config = {
  port: 3000,
  host: "0.0.0.0",
  databaseUrl: "./data/talkover.db",
  logLevel: "info",
  bodyLimitBytes: 64 * 1024,
  rateLimitPerMinute: 100,
  validateResponses: true,
  serviceToken: undefined,
  allowPrivateTargets: false,
  errorThreshold: 10,
  logRetentionDays: 30,
  secretRotationOverlapHours: 24,
  worker: true,
  workerConcurrency: 128,
  workerLeaseMs: 180_000,
  workerPollIntervalMs: 250,
  corsOrigins: [],
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${env[name]}")`);
}

/** A comma-separated list of exact origins: `scheme://host[:port]`, nothing after it, no wildcard. */
function origins(env: NodeJS.ProcessEnv, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw.split(",").map((entry) => {
    const origin = entry.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    // At most 2,048 characters: openapi.yaml's Access-Control-Allow-Origin, which echoes one of them.
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin || origin.length > 2048) {
      throw new ConfigError(`${name} must list origins such as https://app.example.com, comma-separated, without paths or wildcards (got "${origin}")`);
    }
    return origin;
  });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: integer(env, "PORT", DEFAULT_CONFIG.port, 0, 65535),
    host: env.HOST || DEFAULT_CONFIG.host,
    databaseUrl: env.DATABASE_URL || DEFAULT_CONFIG.databaseUrl,
    logLevel: env.LOG_LEVEL || DEFAULT_CONFIG.logLevel,
    bodyLimitBytes: integer(env, "BODY_LIMIT_BYTES", DEFAULT_CONFIG.bodyLimitBytes, 1024, 10 * 1024 * 1024),
    rateLimitPerMinute: integer(env, "RATE_LIMIT_PER_MINUTE", DEFAULT_CONFIG.rateLimitPerMinute, 1, 1_000_000),
    validateResponses: boolean(env, "VALIDATE_RESPONSES", env.NODE_ENV !== "production"),
    serviceToken: env.TALKOVER_SERVICE_TOKEN || undefined,
    allowPrivateTargets: boolean(env, "TALKOVER_ALLOW_PRIVATE_TARGETS", false),
    errorThreshold: integer(env, "WEBHOOK_ERROR_THRESHOLD", DEFAULT_CONFIG.errorThreshold, 1, 1_000_000),
    logRetentionDays: integer(env, "LOG_RETENTION_DAYS", DEFAULT_CONFIG.logRetentionDays, 1, 3650),
    secretRotationOverlapHours: integer(env, "SECRET_ROTATION_OVERLAP_HOURS", DEFAULT_CONFIG.secretRotationOverlapHours, 0, 24 * 30),
    worker: boolean(env, "TALKOVER_WORKER", true),
    workerConcurrency: integer(env, "WORKER_CONCURRENCY", DEFAULT_CONFIG.workerConcurrency, 1, 10_000),
    workerLeaseMs: integer(env, "WORKER_LEASE_MS", DEFAULT_CONFIG.workerLeaseMs, 1_000, 3_600_000),
    workerPollIntervalMs: integer(env, "WORKER_POLL_INTERVAL_MS", DEFAULT_CONFIG.workerPollIntervalMs, 10, 60_000),
    corsOrigins: origins(env, "CORS_ORIGINS"),
  };
}
