// The delivery options a webhook adds to each request: its HTTP method, the header of its authorization
// scheme and its custom headers. The Standard Webhooks headers and Content-Type stay ours: the API refuses
// custom headers that would set them (see server/http/delivery-options.ts), and they are applied last here.
import type { AuthorizationCredentials, AuthorizationScheme, CustomHeader, HttpMethod } from "../storage/webhooks.js";

export const DEFAULT_API_KEY_HEADER = "X-API-Key";

export interface RequestOptions {
  httpMethod: HttpMethod;
  authorizationScheme: AuthorizationScheme;
  authorizationCredentials: AuthorizationCredentials | null;
  customHeaders: readonly CustomHeader[];
}

/** The header a scheme sets, or undefined for `none`. */
export function authorizationHeaderName(scheme: AuthorizationScheme, credentials: AuthorizationCredentials | null): string | undefined {
  switch (scheme) {
    case "none":
      return undefined;
    case "api_key":
      return credentials?.header_name ?? DEFAULT_API_KEY_HEADER;
    default:
      return "Authorization";
  }
}

/** The authorization header of a scheme, as [name, value], or undefined (none, or no credentials stored). */
export function authorizationHeader(scheme: AuthorizationScheme, credentials: AuthorizationCredentials | null): [string, string] | undefined {
  if (!credentials) return undefined;
  switch (scheme) {
    case "bearer":
      return credentials.token === undefined ? undefined : ["authorization", `Bearer ${credentials.token}`];
    case "basic":
      if (credentials.username === undefined || credentials.password === undefined) return undefined;
      return ["authorization", `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, "utf8").toString("base64")}`];
    case "api_key":
      return credentials.value === undefined ? undefined : [(credentials.header_name ?? DEFAULT_API_KEY_HEADER).toLowerCase(), credentials.value];
    case "custom":
      return credentials.value === undefined ? undefined : ["authorization", credentials.value];
    default:
      return undefined;
  }
}

/**
 * The request headers of one attempt: the webhook's custom headers, then its authorization header, then
 * `own` (Content-Type, User-Agent, the Standard Webhooks headers), which always win.
 */
export function withDeliveryOptions(own: Record<string, string>, options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, value } of options.customHeaders) headers[key.toLowerCase()] = value;
  const auth = authorizationHeader(options.authorizationScheme, options.authorizationCredentials);
  if (auth) headers[auth[0]] = auth[1];
  return Object.assign(headers, own);
}
