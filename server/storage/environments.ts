// Environments own agents and authenticate API calls with a bearer token. Only the token's SHA-256 is
// stored: a leaked database or backup does not hand out working tokens.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Database } from "./db.js";
import { newId } from "./ids.js";
import type { EnvironmentTable } from "./schema.js";

export const TOKEN_PREFIX = "talq_";
const TOKEN_RANDOM_LENGTH = 40;
const TOKEN_HINT_LENGTH = 4;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export interface Environment {
  id: string;
  name: string;
  /** The token's last characters, to tell tokens apart in listings. */
  tokenHint: string;
  createdAt: number;
  tokenRotatedAt: number;
}

/** An environment together with its token, returned only when the token is created. */
export interface EnvironmentWithToken extends Environment {
  token: string;
}

/** 40 base62 characters (≈ 238 bits), drawn without modulo bias. */
export function generateToken(): string {
  let out = "";
  while (out.length < TOKEN_RANDOM_LENGTH) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 × 62: bytes at or above it would favour the first characters.
      if (byte < 248 && out.length < TOKEN_RANDOM_LENGTH) out += BASE62[byte % 62];
    }
  }
  return TOKEN_PREFIX + out;
}

function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

function toEnvironment(row: EnvironmentTable): Environment {
  return {
    id: row.id,
    name: row.name,
    tokenHint: row.token_hint,
    createdAt: row.created_at,
    tokenRotatedAt: row.token_rotated_at,
  };
}

export async function createEnvironment(
  database: Database,
  input: { name: string; now?: number },
): Promise<EnvironmentWithToken> {
  const now = input.now ?? Date.now();
  const token = generateToken();
  const row: EnvironmentTable = {
    id: newId(now),
    name: input.name,
    token_hash: hashToken(token).toString("hex"),
    token_hint: token.slice(-TOKEN_HINT_LENGTH),
    created_at: now,
    token_rotated_at: now,
  };
  await database.db.insertInto("environments").values(row).execute();
  return { ...toEnvironment(row), token };
}

/** The environment a bearer token belongs to, or undefined for an unknown (or rotated-out) token. */
export async function findEnvironmentByToken(database: Database, token: string): Promise<Environment | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const hash = hashToken(token);
  const row = await database.db
    .selectFrom("environments")
    .selectAll()
    .where("token_hash", "=", hash.toString("hex"))
    .executeTakeFirst();
  // The index lookup already matched; comparing again in constant time keeps the last step free of
  // timing differences whatever the database's string comparison does.
  if (row === undefined || !timingSafeEqual(Buffer.from(row.token_hash, "hex"), hash)) return undefined;
  return toEnvironment(row);
}

export async function getEnvironment(database: Database, environmentId: string): Promise<Environment | undefined> {
  const row = await database.db.selectFrom("environments").selectAll().where("id", "=", environmentId).executeTakeFirst();
  return row === undefined ? undefined : toEnvironment(row);
}

export async function listEnvironments(database: Database): Promise<Environment[]> {
  const rows = await database.db.selectFrom("environments").selectAll().orderBy("created_at").orderBy("id").execute();
  return rows.map(toEnvironment);
}

/** Issues a new token; the previous one stops working at once. Undefined when there is no such environment. */
export async function rotateToken(
  database: Database,
  environmentId: string,
  options: { now?: number } = {},
): Promise<string | undefined> {
  const token = generateToken();
  const result = await database.db
    .updateTable("environments")
    .set({
      token_hash: hashToken(token).toString("hex"),
      token_hint: token.slice(-TOKEN_HINT_LENGTH),
      token_rotated_at: options.now ?? Date.now(),
    })
    .where("id", "=", environmentId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n ? token : undefined;
}
