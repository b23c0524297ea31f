/** `serve()`: the engine's HTTP API (docs/serve.md). One module per route group; auth and errors beside them. */
export { createApp, MAX_JSON_DEPTH, serve, type ServeHandle, type ServeOptions } from './app.js';
export { DEFAULT_LISTEN, isLoopback, parseListen, readTokenFile, type ListenAddress } from './auth.js';
export type { ServeSource } from './source.js';
