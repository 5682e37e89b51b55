// ONNX Runtime's telemetry: onnxruntime-node 1.30 on Linux keeps a device id and an event database under
// `$XDG_CACHE_HOME` or `~/.cache` (`Microsoft/DeveloperTools/.onnxruntime`), outside the server's data dir, unless
// ORT_DISABLE_TELEMETRY is set (read when the first session is created, so setting it before then is enough).
// Every process that may load ONNX Runtime calls this first; its children inherit the environment.

/** Turns ONNX Runtime's telemetry off in `env` unless the user chose (ORT_DISABLE_TELEMETRY=0 keeps it on). */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.ORT_DISABLE_TELEMETRY) env.ORT_DISABLE_TELEMETRY = '1';
}
