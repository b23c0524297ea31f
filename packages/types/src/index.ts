export {
  SCHEMA_VERSION,
  STAGE_KINDS,
  defineConfig,
  engineConfigSchema,
  formatPath,
  validateConfig,
  type EngineConfig,
  type PipelineConfig,
  type PortConfig,
  type StageConfig,
} from './config.js';
export { decodeConfig, encodeConfig, encodeUnchecked, toWire } from './codec.js';
export { ControlErrorCode, ErrorCode, FastpathError, isFastpathError } from './errors.js';
export type {
  EngineInfo,
  EngineStats,
  LcoreCounters,
  MemoryInfo,
  MempoolInfo,
  PipelineCounters,
  PortCounters,
  PortSummary,
  RuleCounters,
  WorkerInfo,
} from './stats.js';
