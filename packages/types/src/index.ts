export {
  SCHEMA_VERSION,
  STAGE_KINDS,
  aclRuleSchema,
  defineConfig,
  engineConfigSchema,
  formatPath,
  validateConfig,
  type AclRuleConfig,
  type AclStageConfig,
  type EngineConfig,
  type PipelineConfig,
  type PortConfig,
  type StageConfig,
} from './config.js';
export { decodeConfig, encodeConfig, encodeUnchecked, toWire } from './codec.js';
export { ControlErrorCode, ErrorCode, FastpathError, isFastpathError } from './errors.js';
export type { EngineInfo, MemoryInfo, MempoolInfo, PortSummary, WorkerInfo } from './stats.js';
export * as segmentLayout from './segment-layout.js';
export type {
  AclRuleStats,
  AclStats,
  EngineStats,
  LcoreStats,
  MemoryRunStats,
  MemoryScalars,
  MempoolScalars,
  PipelineStats,
  PortStats,
  QueueStats,
  RuleStats,
} from './segment-layout.js';
