export { Engine } from './engine.js';
export { allowedCpus, parseCpuList } from './cpus.js';
export { native } from './native.js';
export {
  ControlErrorCode,
  defineConfig,
  ErrorCode,
  FastpathError,
  isFastpathError,
  SCHEMA_VERSION,
  validateConfig,
  type EngineConfig,
  type EngineInfo,
  type EngineStats,
  type LcoreCounters,
  type PortConfig,
  type PortCounters,
} from '@fastpath/types';
