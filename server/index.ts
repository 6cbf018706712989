// The server side of the package: build the app, or run the whole server, from code.
export { createApp } from "./app.js";
export { loadConfig, DEFAULT_CONFIG, type Config } from "./config.js";
export { startServer, type RunningServer, type StartOptions } from "./server.js";
export { createDeliveryEngine, type DeliveryEngine } from "./delivery/engine.js";
export { loadSpec, type ApiSpec } from "./spec.js";
export { openDatabase, type Database } from "./storage/db.js";
