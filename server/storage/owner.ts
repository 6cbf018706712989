// Who a webhook or an event belongs to: an agent, or a campaign (an outbound calling run). Both own rows of
// the same tables (webhooks.agent_id or webhooks.campaign_id), so the storage and the fan-out cache take an
// Owner where they used to take an agent id, and nothing is written twice for the second kind.

/** Who a webhook or an event belongs to. */
export type Owner = { kind: "agent"; id: string } | { kind: "campaign"; id: string };

export const agentOwner = (id: string): Owner => ({ kind: "agent", id });
export const campaignOwner = (id: string): Owner => ({ kind: "campaign", id });

/** "agent:<id>" | "campaign:<id>": a key for maps and caches. */
export function ownerKey(owner: Owner): string {
  return `${owner.kind}:${owner.id}`;
}

/** The column that holds an owner of this kind, in webhooks and in events. */
export function ownerColumn(owner: Owner): "agent_id" | "campaign_id" {
  return owner.kind === "agent" ? "agent_id" : "campaign_id";
}

/**
 * The owner a row names. A webhook names exactly one (a CHECK says so). An event of a call in a campaign
 * names both: it is the agent's, and campaign_id only says which campaign the call belongs to.
 */
export function ownerOfRow(row: { agent_id: string | null; campaign_id: string | null }): Owner {
  if (row.agent_id !== null) return agentOwner(row.agent_id);
  if (row.campaign_id !== null) return campaignOwner(row.campaign_id);
  throw new Error("A row with neither agent_id nor campaign_id has no owner");
}
