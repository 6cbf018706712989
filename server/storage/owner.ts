// STAND-IN (replaced by h-storage's version at merge)
export type Owner = { kind: "agent"; id: string } | { kind: "campaign"; id: string };
export const agentOwner = (id: string): Owner => ({ kind: "agent", id });
export const campaignOwner = (id: string): Owner => ({ kind: "campaign", id });
export function ownerKey(owner: Owner): string {
  return `${owner.kind}:${owner.id}`;
}
