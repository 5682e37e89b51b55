// Shapes of the REST replies the CLI reads (docs/api.md), built from the shared vocabulary in core/types.ts.

import type { Architecture, Precision, UseCase, Variant, WorkerStatus } from '../core/types.ts';
import type { AutoscalingStatus } from '../api/facade.ts';

export interface UseCaseSummary extends UseCase {
  architectures: number;
}

export interface ArchitectureSummary {
  name: string;
  description?: string;
  artifacts: { id: string; precision: Precision; accuracy: number; bytes: number }[];
  variants: number;
  bestAccuracy: number;
  fastestP50Ms: number;
}

export interface UseCasesReply { useCases: UseCaseSummary[] }
export interface ModArchReply { useCase: UseCase; architectures: ArchitectureSummary[] }
export interface ModInfoReply { architecture: Architecture; useCase: UseCase; variants: Variant[] }
export interface WorkersReply {
  workers: WorkerStatus[];
  /** Absent from servers older than the autoscaling loop. */
  autoscaling?: Pick<AutoscalingStatus, 'policy' | 'maxWorkers' | 'recent' | 'schedule' | 'leadership' | 'refusedWorkers'>;
}

export type RegistrationState = 'PROFILING' | 'SUCCEEDED' | 'FAILED';

export interface Registration {
  id: string;
  arch: string;
  useCase: string;
  state: RegistrationState;
  progress: { done: number; total: number; stage: string };
  error?: string;
  variants?: Variant[];
  createdAt: string;
  updatedAt: string;
}

export interface RegistrationReply { registration: Registration }

export interface Prediction { index: number; label?: string; score: number }

export interface InferReply {
  variant: string;
  arch: string;
  worker: string;
  coldStart: boolean;
  batch: number;
  outputs: { name: string; shape: number[]; data: number[] }[];
  predictions?: Prediction[][];
  timing: { queueMs: number; loadMs: number; inferenceMs: number; totalMs: number };
}

/** One entry of SLO_UNSATISFIABLE's details.alternatives. */
export interface Alternative { variant: string; p95Ms: number; accuracy: number }
