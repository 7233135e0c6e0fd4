/**
 * The REST API, same origin (`/api/v1`): JSON in and out, errors as `ApiError` with the API's
 * own code and message. A 401 on a signed-in call means the token is no longer good: the
 * session is told, and asks the trader to sign in again.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: the request never got an answer
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Query = Record<string, string | number | undefined>;

export interface ApiOptions {
  token(): string | null;
  /** A signed-in request was answered 401: the token expired or was revoked. */
  unauthorized(): void;
  fetch?: typeof fetch;
}

export class Api {
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: ApiOptions) {
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return this.request<T>("GET", search ? `${path}?${search}` : path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  delete<T>(path: string, query: Query = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return this.request<T>("DELETE", search ? `${path}?${search}` : path);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const token = this.options.token();
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await this.doFetch(`/api/v1${path}`, init);
    } catch {
      throw new ApiError(0, 0, "The exchange cannot be reached: check your connection");
    }
    const text = await response.text();
    let payload: unknown = null;
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch {
        payload = null;
      }
    }
    if (!response.ok) {
      if (response.status === 401 && token !== null) this.options.unauthorized();
      const error = payload as { code?: unknown; msg?: unknown } | null;
      const code = typeof error?.code === "number" ? error.code : 0;
      const message =
        typeof error?.msg === "string" ? error.msg : `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, code, message);
    }
    return payload as T;
  }
}
