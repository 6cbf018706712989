import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { LookupAddress } from "node:dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSender } from "../../server/delivery/send.js";
import { checkHost, createGuardedLookup, isForbiddenAddress } from "../../server/delivery/ssrf.js";
import type { ResolveAll } from "../../server/delivery/ssrf.js";

// Every connection these tests open goes to 127.0.0.1. Private and public addresses appear only in unit
// checks and fake resolvers, never as a target a socket could reach.

describe("isForbiddenAddress", () => {
  it.each([
    ["127.0.0.1", "a loopback address"],
    ["127.255.255.254", "a loopback address"],
    ["10.0.0.5", "a private address"],
    ["172.16.0.1", "a private address"],
    ["172.31.255.255", "a private address"],
    ["192.168.1.1", "a private address"],
    ["169.254.169.254", "a cloud metadata address"],
    ["169.254.170.2", "a cloud metadata address"],
    ["100.100.100.200", "a cloud metadata address"],
    ["169.254.1.1", "a link-local address"],
    ["100.64.0.1", "a carrier-grade NAT address"],
    ["100.127.255.255", "a carrier-grade NAT address"],
    ["0.0.0.0", "an unspecified address"],
    ["0.1.2.3", "an unspecified address"],
    ["224.0.0.1", "a multicast address"],
    ["239.255.255.250", "a multicast address"],
    ["240.0.0.1", "a reserved address"],
    ["255.255.255.255", "a reserved address"],
    ["192.0.2.10", "a reserved address"],
    ["198.18.0.1", "a reserved address"],
    ["::1", "a loopback address"],
    ["0:0:0:0:0:0:0:1", "a loopback address"],
    ["[::1]", "a loopback address"],
    ["::", "an unspecified address"],
    ["fc00::1", "a private address"],
    ["fd12:3456::1", "a private address"],
    ["fe80::1", "a link-local address"],
    ["fe80::1%eth0", "a link-local address"],
    ["fec0::1", "a private address"],
    ["ff02::1", "a multicast address"],
    ["fd00:ec2::254", "a cloud metadata address"],
    ["::ffff:127.0.0.1", "a loopback address"],
    ["::ffff:7f00:1", "a loopback address"],
    ["::FFFF:10.0.0.5", "a private address"],
    ["::ffff:169.254.169.254", "a cloud metadata address"],
    ["64:ff9b::10.0.0.5", "a private address"],
    ["2002:0a00:0005::1", "a private address"], // 6to4 of 10.0.0.5
    ["::127.0.0.1", "a reserved address"], // IPv4-compatible (deprecated)
    ["100::1", "a reserved address"],
    ["2001:db8::1", "a reserved address"],
    ["3fff:0fff::1", "a reserved address"],
    ["2001:0:4136:e378::1", "a reserved address"], // Teredo
    ["not-an-ip", "not an IP address"],
    ["", "not an IP address"],
  ])("%s → %s", (ip, reason) => {
    expect(isForbiddenAddress(ip)).toBe(reason);
  });

  it.each([
    ["8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "169.253.255.255"],
    ["2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "3fff:1000::1", "3ff0::1"],
  ].flat())("%s is allowed", (ip) => {
    expect(isForbiddenAddress(ip)).toBeUndefined();
  });
});

describe("checkHost", () => {
  it("refuses IP literals and metadata host names before any DNS", () => {
    expect(checkHost("10.0.0.5")).toBe("Blocked: 10.0.0.5 is a private address");
    expect(checkHost("[::1]")).toBe("Blocked: ::1 is a loopback address");
    expect(checkHost("metadata.google.internal")).toBe("Blocked: metadata.google.internal is a cloud metadata hostname");
    expect(checkHost("METADATA.google.internal.")).toBe("Blocked: metadata.google.internal is a cloud metadata hostname");
    expect(checkHost("example.com")).toBeUndefined();
    expect(checkHost("8.8.8.8")).toBeUndefined();
  });
});

describe("createGuardedLookup", () => {
  const fake =
    (addresses: LookupAddress[]): ResolveAll =>
    (_host, _options, callback) =>
      process.nextTick(callback, null, addresses);
  const lookup = (resolve: ResolveAll, all: boolean) =>
    new Promise<{ err: Error | null; address: unknown; family?: number | undefined }>((done) =>
      createGuardedLookup(resolve)("rebind.example", { all }, (err, address, family) => done({ err, address, family })),
    );

  it("refuses a name if any of its addresses is forbidden", async () => {
    const { err } = await lookup(fake([{ address: "93.184.215.14", family: 4 }, { address: "10.0.0.5", family: 4 }]), true);
    expect(err?.message).toBe("Blocked: rebind.example resolves to 10.0.0.5, a private address");
  });

  it("returns exactly the checked addresses, in the shape Node asked for", async () => {
    const addresses = [
      { address: "93.184.215.14", family: 4 },
      { address: "2606:2800:21f:cb07:6820:80da:af6b:8b2c", family: 6 },
    ];
    expect(await lookup(fake(addresses), true)).toEqual({ err: null, address: addresses, family: undefined });
    expect(await lookup(fake(addresses), false)).toEqual({ err: null, address: "93.184.215.14", family: 4 });
  });

  it("passes DNS errors through", async () => {
    const failing: ResolveAll = (_h, _o, cb) => process.nextTick(cb, Object.assign(new Error("nope"), { code: "ENOTFOUND" }), []);
    expect((await lookup(failing, true)).err).toMatchObject({ code: "ENOTFOUND" });
  });
});

describe("sender with the guard", () => {
  let server: Server;
  let port: number;
  let connections = 0;
  const guarded = createSender({ allowPrivateTargets: false });
  const open = createSender({ allowPrivateTargets: true });
  const send = (sender: typeof guarded, url: string) =>
    sender.send({ url, body: "{}", headers: { "content-type": "application/json" }, timeoutMs: 5000 });

  beforeAll(async () => {
    server = createServer((_req, res) => res.end("ok"));
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await Promise.all([guarded.close(), open.close()]);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("refuses 127.0.0.1 and never connects", async () => {
    const before = connections;
    const result = await send(guarded, `http://127.0.0.1:${port}/hook`);
    expect(result).toEqual({ ok: false, durationMs: expect.any(Number), error: "Blocked: 127.0.0.1 is a loopback address" });
    expect(connections).toBe(before);
  });

  it("delivers to 127.0.0.1 when private targets are allowed", async () => {
    expect(await send(open, `http://127.0.0.1:${port}/hook`)).toMatchObject({ ok: true, status: 200, responseBody: "ok" });
  });

  it("refuses a host name that resolves to loopback (checked on the resolved address)", async () => {
    const before = connections;
    const result = await send(guarded, `http://localhost:${port}/hook`);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^Blocked: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
    expect(connections).toBe(before);
  });

  it("refuses the other spellings of loopback that URLs normalise to", async () => {
    for (const [url, shown] of [
      [`http://[::1]:${port}/`, "::1"],
      [`http://[::ffff:127.0.0.1]:${port}/`, "::ffff:7f00:1"],
      [`http://2130706433:${port}/`, "127.0.0.1"],
      [`http://0x7f.1:${port}/`, "127.0.0.1"],
      [`http://127.1:${port}/`, "127.0.0.1"],
      [`http://0.0.0.0:${port}/`, "0.0.0.0"],
    ] as const) {
      const result = await send(guarded, url);
      expect(result.error, url).toMatch(new RegExp(`^Blocked: ${shown.replaceAll(".", "\\.")} is an? `));
    }
  });

  it("refuses over https too", async () => {
    expect((await send(guarded, `https://127.0.0.1:${port}/`)).error).toBe("Blocked: 127.0.0.1 is a loopback address");
  });

  it("checks the address a fake resolver returns, not the name", async () => {
    const rebinding = createSender({
      allowPrivateTargets: false,
      resolve: (_host, _options, callback) => process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]),
    });
    try {
      const before = connections;
      expect((await send(rebinding, `http://innocent.example:${port}/`)).error).toBe(
        "Blocked: innocent.example resolves to 127.0.0.1, a loopback address",
      );
      expect(connections).toBe(before);
    } finally {
      await rebinding.close();
    }
  });
});
