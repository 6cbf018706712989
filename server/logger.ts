// Structured logs. Tokens and secrets never reach them: request logs carry no headers or bodies, and the
// redaction list is a second line of defence for anything that slips into a log call.
import { pino, type Logger } from "pino";

export type { Logger };

export const REDACTED_PATHS = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "webhook_secret",
  "*.webhook_secret",
  "webhookSecret",
  "*.webhookSecret",
  "webhookSecrets",
  "*.webhookSecrets",
  "previous_secret",
  "*.previous_secret",
  "previousSecret",
  "*.previousSecret",
  "secret",
  "*.secret",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, destination);
}
