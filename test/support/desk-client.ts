/** A tiny HTTP client of the desk's API that keeps one session cookie and its CSRF token. */
export interface DeskClient {
  login(username: string, password: string): Promise<Response>;
  get(path: string): Promise<Response>;
  post(path: string, body: unknown, options?: { csrf?: boolean }): Promise<Response>;
  json<T>(path: string): Promise<T>;
}

export function deskClient(baseUrl: string): DeskClient {
  let cookie = '';
  let csrf = '';
  const request = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(new URL(path, baseUrl), {
      ...init,
      headers: { ...(cookie === '' ? {} : { cookie }), ...(init.headers as Record<string, string> | undefined) },
    });
  return {
    async login(username, password) {
      const response = await request('/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const set = response.headers.get('set-cookie');
      if (set !== null) cookie = set.split(';')[0] ?? '';
      if (response.ok) csrf = ((await response.clone().json()) as { csrfToken: string }).csrfToken;
      return response;
    },
    get: (path) => request(path),
    post: (path, body, options = {}) =>
      request(path, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...(options.csrf === false ? {} : { 'x-csrf-token': csrf }) },
      }),
    async json<T>(path: string) {
      const response = await request(path);
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
  };
}
