// A fetch that answers from a function and remembers every request, as openapi-fetch's own tests do:
// no mocking library, no network.
export interface FakeFetch {
  (request: Request): Promise<Response>;
  /** Requests in the order they were sent, with their bodies already read. */
  readonly requests: { method: string; url: URL; headers: Headers; body: string }[];
}

export function fakeFetch(answer: (request: Request, index: number) => Response | Promise<Response>): FakeFetch {
  const requests: FakeFetch["requests"] = [];
  const fetch = async (request: Request) => {
    const seen = request.clone();
    requests.push({ method: request.method, url: new URL(request.url), headers: request.headers, body: await seen.text() });
    return answer(request, requests.length - 1);
  };
  return Object.assign(fetch, { requests });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}
