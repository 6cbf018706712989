// The metrics tests' exposition parser (test/support/prometheus.ts) is only as strict as it rejects: these
// prove it refuses what a broken exposition would have.
import { describe, expect, it } from "vitest";
import { ExpositionError, parseExposition, sampleValue } from "../support/prometheus.js";

const good = [
  "# HELP a_total Things, with a \\\\ and a \\n.",
  "# TYPE a_total counter",
  'a_total{outcome="success"} 3',
  'a_total{outcome="fa\\"il"} 0',
  "",
  "# TYPE d_seconds histogram",
  'd_seconds_bucket{le="0.1"} 1',
  'd_seconds_bucket{le="+Inf"} 2',
  "d_seconds_sum 0.35",
  "d_seconds_count 2",
  "# TYPE g gauge",
  "g -1.5e-3",
  "",
].join("\n");

describe("parseExposition", () => {
  it("reads a well-formed exposition: families, types, help, labels with escapes, values", () => {
    const families = parseExposition(good);
    expect([...families.keys()]).toEqual(["a_total", "d_seconds", "g"]);
    expect(families.get("a_total")).toMatchObject({ type: "counter", help: "Things, with a \\ and a \n." });
    expect(sampleValue(families, "a_total", { outcome: 'fa"il' })).toBe(0);
    expect(sampleValue(families, "d_seconds_bucket", { le: "+Inf" })).toBe(2);
    expect(sampleValue(families, "g")).toBe(-0.0015);
  });

  const broken: Array<[string, string]> = [
    ["no final newline", good.trimEnd()],
    ["a sample without TYPE", "x 1\n"],
    ["a malformed value", "# TYPE x gauge\nx one\n"],
    ["an unquoted label", "# TYPE x gauge\nx{a=b} 1\n"],
    ["a bad escape in a label", '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ["a duplicate series", '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ["a duplicate label", '# TYPE x gauge\nx{a="1",a="2"} 1\n'],
    ["a second TYPE", "# TYPE x gauge\n# TYPE x gauge\nx 1\n"],
    ["an unknown type", "# TYPE x meter\nx 1\n"],
    ["a family split in two blocks", "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# HELP x again\n"],
    ["a sample of another family", "# TYPE x gauge\ny 1\n"],
    ["a negative counter", "# TYPE x_total counter\nx_total -1\n"],
    ["buckets not cumulative", '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ["+Inf not _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ["a histogram without _sum", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 2\n'],
    ["a histogram sample without le", '# TYPE h histogram\nh_bucket 2\nh_sum 1\nh_count 2\n'],
  ];
  it.each(broken)("rejects %s", (_why, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
  });
});
