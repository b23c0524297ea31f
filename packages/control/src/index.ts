export { allowedCpus, parseCpuList } from './cpus.js';
export { helpOf, parseCommandLine, positiveInteger, positiveNumber, UsageError, type CommandLine, type Flags, type Option, type Options } from './command-line.js';
export { Capture, type CaptureCounts, type CaptureOptions, type CapturePoint } from './capture.js';
export { ControlClient } from './control-client.js';
export { Engine } from './engine.js';
export {
  RouteTable,
  type ControlTransport,
  type OnProgress,
  type PerFamily,
  type PrefixesInput,
  type Route,
  type RouteChange,
  type RouteLookup,
  type RoutesInput,
  type RouteTableInfo,
} from './routes.js';
export { otherCounters } from './counters.js';
export { describeEngine, portDrops, runLive, STATS_HEADER, statsRows, summaryJson, summaryLines, type LiveOptions } from './live.js';
export { isLoadingConfig, loadConfig } from './load-config.js';
export { native } from './native.js';
export {
  devbind,
  devbindStatus,
  devunbind,
  doctor,
  ealRuntimeDir,
  planMemory,
  reserveHugepages,
  type DevbindOptions,
  type DevbindStatus,
  type DevbindWrite,
  type DoctorCheck,
  type DoctorDevice,
  type DoctorOptions,
  type DoctorReport,
  type HugepageReservation,
  type MemoryPlan,
} from './platform.js';
export { prometheusRegistry, type ReaderSource } from './prometheus.js';
export { createApp, DEFAULT_LISTEN, serve, type ServeHandle, type ServeOptions, type ServeSource } from './serve/index.js';
export type { Launcher } from './launcher.js';
export { SignalWatch, startUnlessStopped, STOP_SIGNALS, watchSignals, type StopSignal, type WatchOptions } from './signals.js';
export { StatsReader, type EngineListing, type HistogramSeries, type MemoryMap, type PortRates, type Sample, type SegmentEntry } from './stats-reader.js';
export { bucketHigh, bucketLow, bucketOf, histogramSummary, mergeHistogram, percentile, type HistogramSummary } from './snapshot-decoder.js';
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
  type LcoreStats,
  type MemoryRunStats,
  type PipelineConfig,
  type PipelineStats,
  type PortConfig,
  type PortStats,
  type QueueStats,
  type RuleStats,
  type StageConfig,
} from '@fastpath/types';
