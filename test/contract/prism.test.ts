// The contract suite against Prism mocking openapi.yaml: proves the client and the suite agree with the
// document itself (the reference server runs the same suite in server.test.ts).
import { startMock } from "../../client/mock.js";
import { defineContractSuite } from "./operations.js";

defineContractSuite("Prism mock of openapi.yaml", { stateful: false }, async () => {
  const mock = await startMock({ startTimeoutMs: 100_000 }); // Prism's start-up takes > 30 s on a loaded machine
  return {
    baseUrl: mock.url,
    token: "talq_" + "a".repeat(40), // Prism checks that a bearer token is present, not which
    serviceToken: "service-token",
    agentId: "9fbef0b7-8d4e-4a08-9207-66c22155721d",
    campaignId: "3b1f8c2e-4d5a-4e6b-9c7d-8e9f0a1b2c3d",
    teardown: mock.stop,
  };
});
