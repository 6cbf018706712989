/**
 * SSRF guard for outbound deliveries.
 *
 * A webhook URL is chosen by a customer, so without a guard the delivery engine would happily POST to our
 * own loopback services, the cloud metadata endpoint or anything else on the private network. The check
 * happens at connect time on the address the socket is actually opened to, not on the URL text: checking
 * the name first and letting the socket resolve it again would be open to DNS rebinding (the first answer
 * public, the second 127.0.0.1).
 *
 * How it is wired: `createConnector()` returns an undici connector. For a host name it hands Node's
 * `net`/`tls` connect a `lookup` that resolves every address, refuses the whole name if ANY of them is
 * forbidden, and returns only the checked addresses, so the socket can only connect to one of those. Node
 * never calls `lookup` for an IP literal, so literals are checked in the connector before connecting.
 */
import dns from "node:dns";
import { isIP, isIPv4 } from "node:net";
import type { LookupAddress, LookupAllOptions, LookupOptions } from "node:dns";
import type { LookupFunction } from "node:net";
import { buildConnector } from "undici";

/** Error raised (and reported to the customer as its message) when a target is refused. */
export class BlockedTargetError extends Error {
  readonly code = "TALKOVER_BLOCKED_TARGET";
  constructor(message: string) {
    super(message);
    this.name = "BlockedTargetError";
  }
}

type Range4 = readonly [base: number, prefix: number, reason: string];

const PRIVATE = "a private address";
const LOOPBACK = "a loopback address";
const LINK_LOCAL = "a link-local address";
const RESERVED = "a reserved address";
const MULTICAST = "a multicast address";
const UNSPECIFIED = "an unspecified address";
const METADATA = "a cloud metadata address";

/** Well-known instance-metadata endpoints, named specifically so the error says what was hit. */
const METADATA_V4 = new Set([
  v4("169.254.169.254"), // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean…
  v4("169.254.170.2"), // AWS ECS task metadata
  v4("100.100.100.200"), // Alibaba Cloud
]);

// Everything here is either not on the public internet or not unicast. Order doesn't matter: ranges don't
// overlap except where the reason would be the same.
const IPV4_RANGES: readonly Range4[] = [
  [v4("0.0.0.0"), 8, UNSPECIFIED], // "this network"; 0.0.0.0 reaches the local host on Linux
  [v4("10.0.0.0"), 8, PRIVATE],
  [v4("100.64.0.0"), 10, "a carrier-grade NAT address"],
  [v4("127.0.0.0"), 8, LOOPBACK],
  [v4("169.254.0.0"), 16, LINK_LOCAL],
  [v4("172.16.0.0"), 12, PRIVATE],
  [v4("192.0.0.0"), 24, RESERVED], // IETF protocol assignments
  [v4("192.0.2.0"), 24, RESERVED], // TEST-NET-1
  [v4("192.88.99.0"), 24, RESERVED], // 6to4 relay anycast (deprecated)
  [v4("192.168.0.0"), 16, PRIVATE],
  [v4("198.18.0.0"), 15, RESERVED], // benchmarking
  [v4("198.51.100.0"), 24, RESERVED], // TEST-NET-2
  [v4("203.0.113.0"), 24, RESERVED], // TEST-NET-3
  [v4("224.0.0.0"), 4, MULTICAST],
  [v4("240.0.0.0"), 4, RESERVED], // includes 255.255.255.255
];

/**
 * Why `ip` must not be connected to, as a phrase that completes "Blocked: <ip> is …", or undefined if it
 * is a public unicast address. Accepts IPv4 and IPv6 text (with or without brackets or a zone id); text that
 * is not an IP address at all is refused, so a caller can never get an "allowed" answer by accident.
 */
export function isForbiddenAddress(ip: string): string | undefined {
  let text = ip;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);

  if (isIPv4(text)) return forbiddenV4(v4(text));
  if (isIP(text) === 6) return forbiddenV6(v6(text));
  return "not an IP address";
}

function forbiddenV4(addr: number): string | undefined {
  if (METADATA_V4.has(addr)) return METADATA;
  for (const [base, prefix, reason] of IPV4_RANGES) {
    if (inPrefix(addr, base, prefix)) return reason;
  }
  return undefined;
}

function forbiddenV6(g: readonly number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const low32 = g6 * 0x10000 + g7;
  const upper80zero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;

  if (upper80zero && g5 === 0xffff) return forbiddenV4(low32); // ::ffff:a.b.c.d, IPv4-mapped
  if (upper80zero && g5 === 0 && g6 === 0) {
    if (g7 === 0) return UNSPECIFIED; // ::
    if (g7 === 1) return LOOPBACK; // ::1
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return forbiddenV4(low32); // 64:ff9b::a.b.c.d, well-known NAT64 prefix: as safe as the address inside
  }
  if (g0 === 0x2002) return forbiddenV4(g1 * 0x10000 + g2); // 6to4 carries an IPv4 address in bits 16–48
  if (g0 === 0xfd00 && g1 === 0x0ec2 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0 && g6 === 0 && g7 === 0x254) {
    return METADATA; // fd00:ec2::254, AWS IMDS over IPv6
  }
  if ((g0 & 0xfe00) === 0xfc00) return PRIVATE; // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return LINK_LOCAL; // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return PRIVATE; // fec0::/10 site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return MULTICAST; // ff00::/8
  // Only 2000::/3 is allocated global unicast; everything else (IPv4-compatible ::a.b.c.d, discard-only
  // 100::/64, local-use NAT64 64:ff9b:1::/48, …) is reserved.
  if ((g0 & 0xe000) !== 0x2000) return RESERVED;
  if (g0 === 0x2001 && g1 === 0x0db8) return RESERVED; // documentation
  if (g0 === 0x2001 && g1 === 0) return RESERVED; // Teredo: a tunnel to an obfuscated IPv4 address
  if (g0 === 0x3fff && (g1 & 0xf000) === 0) return RESERVED; // 3fff::/20 documentation
  return undefined;
}

function inPrefix(addr: number, base: number, prefix: number): boolean {
  // Shifts work on int32, so compare as unsigned after dropping the host bits.
  const shift = 32 - prefix;
  return addr >>> shift === base >>> shift;
}

/** Dotted quad to an unsigned 32-bit number. Input has been validated by `isIPv4`. */
function v4(text: string): number {
  let n = 0;
  for (const part of text.split(".")) n = n * 256 + Number(part);
  return n;
}

/** IPv6 text (validated by `isIP`) to its eight 16-bit groups; handles `::` and a dotted-quad tail. */
function v6(text: string): number[] {
  const groupsOf = (s: string): number[] => {
    if (s === "") return [];
    const out: number[] = [];
    for (const part of s.split(":")) {
      if (part.includes(".")) {
        const n = v4(part);
        out.push(Math.floor(n / 0x10000), n & 0xffff);
      } else {
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf("::");
  if (gap === -1) return groupsOf(text);
  const head = groupsOf(text.slice(0, gap));
  const tail = groupsOf(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Names that reach instance metadata without going through an address we'd recognise (some resolve only
 * inside the cloud's own resolver). Matched after lower-casing and dropping a trailing dot.
 */
const METADATA_HOSTNAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);

/** The refusal message for a URL host before any DNS, or undefined to go on and resolve it. */
export function checkHost(hostname: string): string | undefined {
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (isIP(host) !== 0) {
    const reason = isForbiddenAddress(host);
    return reason === undefined ? undefined : `Blocked: ${host} is ${reason}`;
  }
  const name = host.toLowerCase().replace(/\.$/, "");
  if (METADATA_HOSTNAMES.has(name)) return `Blocked: ${name} is a cloud metadata hostname`;
  return undefined;
}

/** The resolver shape the guard needs: dns.lookup with `{ all: true }`. Injectable so tests need no DNS. */
export type ResolveAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const defaultResolve: ResolveAll = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A `lookup` for net/tls connect that resolves all addresses, refuses the name if any one is forbidden
 * (a name that mixes public and private answers is either misconfigured or an attack), and hands back only
 * the addresses it checked. Node asks for `all: true` when happy-eyeballs is on, a single address otherwise.
 */
export function createGuardedLookup(resolve: ResolveAll = defaultResolve): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "");
      const first = addresses[0];
      if (first === undefined) {
        const notFound = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", hostname });
        return callback(notFound, "");
      }
      for (const { address } of addresses) {
        const reason = isForbiddenAddress(address);
        if (reason !== undefined) {
          return callback(new BlockedTargetError(`Blocked: ${hostname} resolves to ${address}, ${reason}`), "");
        }
      }
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

export interface ConnectorOptions {
  /** Skip every check (development, tests, self-hosted setups delivering inside their own network). */
  allowPrivateTargets: boolean;
  /** Bound on TCP + TLS connection setup. */
  connectTimeoutMs: number;
  resolve?: ResolveAll;
}

/** An undici connector (pass as `connect` to an Agent/Pool) that enforces the guard on every new socket. */
export function createConnector(options: ConnectorOptions): buildConnector.connector {
  if (options.allowPrivateTargets) return buildConnector({ timeout: options.connectTimeoutMs });

  const connect = buildConnector({ timeout: options.connectTimeoutMs, lookup: createGuardedLookup(options.resolve) });
  return (opts, callback) => {
    const refusal = checkHost(opts.hostname);
    if (refusal === undefined) return connect(opts, callback);
    // Report asynchronously, as a real connect failure would: undici's client isn't written for re-entry.
    process.nextTick(callback, new BlockedTargetError(refusal), null);
  };
}
