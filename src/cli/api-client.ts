// HTTP client of the REST API (docs/api.md) for the CLI: JSON, multipart and raw bodies; errors become CliErrors.

import { CliError } from './cli-error.ts';

/** The error body every non-2xx reply carries (docs/api.md). */
export interface ApiErrorBody {
  error: string;
  code: string;
  details?: Record<string, unknown>;
}

/** The bytes on a plain ArrayBuffer (what fetch and Blob accept), copying only when they sit on a shared one. */
export function plainBytes(u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u.buffer instanceof ArrayBuffer ? (u as Uint8Array<ArrayBuffer>) : new Uint8Array(u);
}

export class ApiClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  getJson<T>(path: string): Promise<T> {
    return this.request<T>(path, { method: 'GET' });
  }

  postJson<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  postForm<T>(path: string, form: FormData): Promise<T> {
    return this.request<T>(path, { method: 'POST', body: form });
  }

  postBytes<T>(path: string, bytes: Uint8Array, contentType: string): Promise<T> {
    return this.request<T>(path, { method: 'POST', headers: { 'content-type': contentType }, body: plainBytes(bytes) });
  }

  /**
   * Sends one request and parses the JSON reply.
   * @throws CliError exit 3 when the server cannot be reached; exit 1 with the server's message, code and details
   *   for an error reply, or a description of a reply that is not JSON.
   */
  async request<T>(path: string, init: RequestInit): Promise<T> {
    const url = this.baseUrl + path;
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
      throw new CliError(
        `cannot reach the INFaaS server at ${this.baseUrl} (${why}) — start it with \`infaas serve\` or \`infaas demo\`, or pass --server URL`,
        3,
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text.length ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const b = body as Partial<ApiErrorBody> | undefined;
      if (b && typeof b.error === 'string') {
        throw new CliError(b.error, 1, { code: b.code, details: b.details });
      }
      throw new CliError(`the server at ${this.baseUrl} replied ${res.status} ${res.statusText} to ${init.method} ${path} (is it an INFaaS server?)`, 1, { code: `HTTP_${res.status}` });
    }
    if (body === undefined) throw new CliError(`the server at ${this.baseUrl} replied to ${init.method} ${path} with something that is not JSON`, 1);
    return body as T;
  }
}
