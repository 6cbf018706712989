// A strict parser of the Prometheus text exposition format 0.0.4, for tests (prom-client writes the format
// but has no parser). It rejects what Prometheus would reject, and more that a well-formed exposition never
// has: a malformed line or escape, a sample before its family's TYPE or outside its family's block, a
// family declared twice, a duplicate series, a sample name that is not its family's (histograms:
// _bucket/_sum/_count only), a negative counter, a histogram whose buckets are not cumulative or lack
// +Inf = _count, a missing final newline.

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [""],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

export class ExpositionError extends Error {}

export function parseExposition(text: string): Map<string, Family> {
  if (text !== "" && !text.endsWith("\n")) throw new ExpositionError("the exposition does not end with a newline");
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: Family | undefined;
  const lines = text.split("\n");
  lines.pop(); // after the final newline

  lines.forEach((line, index) => {
    const fail = (why: string): never => {
      throw new ExpositionError(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) return; // any other comment
      const [, keyword, name, rest] = match as unknown as [string, "HELP" | "TYPE", string, string];
      if (!METRIC_NAME.test(name)) fail("invalid metric name");
      if (current && current.name !== name) {
        finished.add(current.name);
        current = undefined;
      }
      if (finished.has(name)) fail(`family ${name} declared again after its block`);
      let family = families.get(name);
      if (!family) {
        family = { name, type: "untyped", samples: [] };
        families.set(name, family);
        (family as Family & { typed?: boolean }).typed = false;
      }
      current = family;
      if (keyword === "HELP") {
        if (family.help !== undefined) fail("second HELP");
        family.help = unescapeHelp(rest, fail);
      } else {
        if ((family as Family & { typed?: boolean }).typed) fail("second TYPE");
        if (family.samples.length > 0) fail("TYPE after samples");
        if (!TYPES.has(rest as MetricType)) fail("unknown type");
        family.type = rest as MetricType;
        (family as Family & { typed?: boolean }).typed = true;
      }
      return;
    }

    const sample = parseSample(line, fail);
    if (!current || !(current as Family & { typed?: boolean }).typed) fail("sample without a TYPE before it");
    const family = current!;
    const suffix = sample.name.slice(family.name.length);
    if (!sample.name.startsWith(family.name) || !SUFFIXES[family.type].includes(suffix)) fail(`sample outside family ${family.name}`);
    if (family.type === "histogram" && suffix === "_bucket" && sample.labels.le === undefined) fail("bucket without le");
    if (family.type === "counter" && !(sample.value >= 0)) fail("negative or NaN counter");
    const key = seriesKey(sample);
    if (series.has(key)) fail("duplicate series");
    series.add(key);
    family.samples.push(sample);
  });

  for (const family of families.values()) {
    delete (family as Family & { typed?: boolean }).typed;
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  if (!match) fail("malformed sample");
  const [, name, rawLabels, rawValue] = match!;
  const labels: Record<string, string> = {};
  if (rawLabels !== undefined) {
    let rest = rawLabels.slice(1, -1);
    while (rest !== "") {
      const pair = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!pair) fail("malformed label");
      const [whole, labelName, value] = pair!;
      if (!LABEL_NAME.test(labelName!) || labelName!.startsWith("__")) fail("invalid label name");
      if (Object.hasOwn(labels, labelName!)) fail("duplicate label");
      labels[labelName!] = value!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(whole!.length);
    }
  }
  return { name: name!, labels, value: parseValue(rawValue!, fail) };
}

function parseValue(raw: string, fail: (why: string) => never): number {
  if (raw === "+Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) fail("malformed value");
  return Number(raw);
}

function unescapeHelp(text: string, fail: (why: string) => never): string {
  if (/\\[^\\n]|\\$/.test(text.replace(/\\\\/g, ""))) fail("invalid escape in HELP");
  return text.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function seriesKey(sample: Sample): string {
  const labels = Object.keys(sample.labels).sort().map((k) => `${k}=${JSON.stringify(sample.labels[k])}`);
  return `${sample.name}{${labels.join(",")}}`;
}

/** Per label set (le aside): buckets ascending by le and cumulative, a +Inf bucket equal to _count, a _sum. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = seriesKey({ name: "", labels: rest, value: 0 });
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name.endsWith("_bucket")) group.buckets.push([parseValue(le!, (why) => { throw new ExpositionError(`${family.name}: ${why}`); }), sample.value]);
    else if (sample.name.endsWith("_count")) group.count = sample.value;
    else group.sum = sample.value;
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key}`;
    if (group.count === undefined || group.sum === undefined) throw new ExpositionError(`${where}: no _count or _sum`);
    const last = group.buckets.at(-1);
    if (!last || last[0] !== Infinity || last[1] !== group.count) throw new ExpositionError(`${where}: the +Inf bucket is not _count`);
    for (let i = 1; i < group.buckets.length; i++) {
      const [le, value] = group.buckets[i]!;
      const [previousLe, previous] = group.buckets[i - 1]!;
      if (!(le > previousLe) || value < previous) throw new ExpositionError(`${where}: buckets not ascending and cumulative`);
    }
  }
}

/** The value of one series: `name` with exactly `labels`; undefined when absent. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = seriesKey({ name, labels, value: 0 });
  for (const family of families.values()) {
    for (const sample of family.samples) if (seriesKey(sample) === key) return sample.value;
  }
  return undefined;
}
