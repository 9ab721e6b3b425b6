/** A minimal HTTP client for the bench: fetch (keep-alive), JSON in and out, timed. */

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  /** Wall time from sending the request to having parsed the whole response. */
  readonly ms: number;
}

export interface ApiClient {
  call(token: string | undefined, method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Like `call`, but throws unless the status is `expected`; returns the body. */
  expect<T>(expected: number, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ body: T; ms: number }>;
}

export function apiClient(baseUrl: string): ApiClient {
  const call: ApiClient['call'] = async (token, method, path, body) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const start = performance.now();
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const ms = performance.now() - start;
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the error message.
    }
    return { status: response.status, body: parsed, ms };
  };
  return {
    call,
    async expect<T>(expected: number, token: string | undefined, method: string, path: string, body?: unknown) {
      const response = await call(token, method, path, body);
      if (response.status !== expected) {
        throw new Error(`${method} ${path}: expected ${expected}, got ${response.status}: ${JSON.stringify(response.body)}`);
      }
      return { body: response.body as T, ms: response.ms };
    },
  };
}
