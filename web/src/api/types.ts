/**
 * API shapes. Everything the server documents in /api/openapi.json comes from the generated
 * `schema.d.ts` (`make web-types` regenerates both from the server's own document);
 * nothing here restates a documented shape by hand.
 */
import type { components, paths } from "./schema";

type Schemas = components["schemas"];

export type CallRecord = Schemas["CallRecord"];
export type CallListItem = Schemas["CallListItem"];
export type CallList = Schemas["CallList"];
export type CallDetail = Schemas["CallDetail"];
export type Feedback = Schemas["Feedback"];
export type FeedbackIn = Schemas["FeedbackIn"];
export type FeedbackSummary = Schemas["FeedbackSummary"];
export type Trace = Schemas["Trace"];
export type TraceNode = Schemas["TraceNode"];
export type Usage = Schemas["Usage"];
export type Op = Schemas["Op"];
export type OpVersion = Schemas["OpVersion"];
export type Model = Schemas["Model"];
export type ModelVersion = Schemas["ModelVersion"];
export type PromptFamily = Schemas["PromptFamily"];
export type PromptVersion = Schemas["PromptVersion"];
export type OpList = Schemas["OpList"];
export type OpVersionList = Schemas["OpVersionList"];
export type ModelList = Schemas["ModelList"];
export type ModelVersionList = Schemas["ModelVersionList"];
export type PromptList = Schemas["PromptList"];
export type PromptVersionList = Schemas["PromptVersionList"];
export type Stats = Schemas["Stats"];
export type StatsGroup = Schemas["StatsGroup"];
export type StatsTotals = Schemas["StatsTotals"];
export type Comparison = Schemas["Comparison"];
export type CompareField = Schemas["CompareField"];
export type CompareSection = CompareField["section"];
export type CompareMetric = Schemas["CompareMetric"];
export type ApiErrorBody = Schemas["Error"];
export type DatasetList = Schemas["DatasetList"];
export type DatasetListItem = Schemas["DatasetListItem"];
export type DatasetDetail = Schemas["DatasetDetail"];
export type DatasetRows = Schemas["DatasetRows"];
export type DatasetVersion = Schemas["DatasetVersion"];
export type EvalRun = Schemas["Run"];
export type EvalRunList = Schemas["RunList"];
export type EvalRunRow = Schemas["RunRow"];
export type EvalRunRows = Schemas["RunRows"];
export type EvalComparison = Schemas["EvalComparison"];
export type ComparedMetric = Schemas["ComparedMetric"];
export type Status = CallRecord["status"];

/** Query parameters of GET /api/calls, as the server documents them. */
export type CallsQuery = NonNullable<paths["/api/calls"]["get"]["parameters"]["query"]>;
export type SortKey = NonNullable<CallsQuery["sort"]>;
/** Query parameters of GET /api/stats. */
export type StatsQuery = paths["/api/stats"]["get"]["parameters"]["query"];
export type StatsSort = NonNullable<StatsQuery["sort"]>;

/** Any part of a record that is the user's own data (inputs, output, attributes). */
export type Json = Schemas["JsonValue"];
