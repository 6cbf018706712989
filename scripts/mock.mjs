// `npm run mock`: a Prism mock of openapi.yaml on http://127.0.0.1:4010 (or $PORT), serving the document's
// examples, until Ctrl-C. Point the client at it: createTalkoverClient({ baseUrl: "http://127.0.0.1:4010", token: "any" }).
// Steer an answer with `Prefer: code=404` or `Prefer: example=NAME` (an example's name in openapi.yaml).
// Prism checks that a Bearer token is present, not which one, and validates requests (an invalid body gets the
// operation's documented 422 example).
//
// It runs client/mock.ts (through tsx, so no build is needed), which spawns Prism with node directly: stopping
// an `npx prism` would leave Prism running.
import { tsImport } from "tsx/esm/api";

const { startMock } = await tsImport("../client/mock.ts", import.meta.url);
const port = Number(process.env.PORT ?? 4010);
const mock = await startMock({ port });
console.log(`Prism mock of openapi.yaml listening on ${mock.url} (Ctrl-C to stop)`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    mock.stop().then(() => process.exit(0));
  });
}
