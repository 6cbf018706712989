// The rules of a recovery's request (POST …/recover and `talkover-webhooks recover`), in one place: since in
// the past and within the log retention period (older deliveries and logs are gone), until (when given)
// after since, the webhook enabled (a disabled webhook's deliveries would only be cancelled again). The
// messages are `x-validation-messages` templates, keyed by field, as the API's 422 carries them.
import { retentionCutoff } from "../delivery/retention.js";
import type { RecoveryInput } from "../delivery/service.js";
import type { Webhook } from "../storage/webhooks.js";
import { fieldErrorCollector, type FieldErrors } from "./errors.js";

export function checkRecoveryRange(
  templates: Readonly<Record<string, string>>,
  retentionDays: number,
  webhook: Pick<Webhook, "enabled">,
  body: { since: string; until?: string },
  now: number,
): { errors: FieldErrors; range: RecoveryInput } {
  const { errors, add } = fieldErrorCollector(templates);
  const sinceMs = Date.parse(body.since);
  const untilMs = body.until === undefined ? undefined : Date.parse(body.until);
  if (Number.isNaN(sinceMs)) add("since", "format", { format: "date-time" });
  if (untilMs !== undefined && Number.isNaN(untilMs)) add("until", "format", { format: "date-time" });
  if (!webhook.enabled) add("webhook_id", "enabled_webhook");
  if (sinceMs >= now) add("since", "before", { date: "now" });
  else if (sinceMs < retentionCutoff(retentionDays, now)) add("since", "after_or_equal", { date: `${retentionDays} days ago` });
  if (untilMs !== undefined && untilMs <= sinceMs) add("until", "after", { date: "since" });
  return { errors, range: { sinceMs, untilMs } };
}
