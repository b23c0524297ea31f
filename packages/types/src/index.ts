export {
  SCHEMA_VERSION,
  defineConfig,
  engineConfigSchema,
  formatPath,
  validateConfig,
  type EngineConfig,
  type PortConfig,
} from './config.js';
export { decodeConfig, encodeConfig } from './codec.js';
export { ControlErrorCode, ErrorCode, FastpathError, isFastpathError } from './errors.js';
export type {
  EngineInfo,
  EngineStats,
  LcoreCounters,
  MempoolInfo,
  PortCounters,
  PortSummary,
  WorkerInfo,
} from './stats.js';
