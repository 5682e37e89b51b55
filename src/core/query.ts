// What an online query asks for: exactly one of the three INFaaS levels, plus an optional cost cap and top-k.

export type QuerySpec =
  | ({ level: 'variant'; variant: string } & QueryCommon)
  | ({ level: 'arch'; arch: string; latencyMs: number } & QueryCommon)
  | ({ level: 'usecase'; task: string; dataset: string; minAccuracy: number; latencyMs: number } & QueryCommon);

export interface QueryCommon {
  maxCostPer1k?: number;
  topK?: number;
}

