// Server-Sent Events read with fetch() rather than EventSource, which cannot send an
// Authorization header: the token stays out of URLs (and so out of logs and history).

/** An API error answer as an Error with its `code`, `status` and `problems`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? 'ERR_REQUEST';
    this.problems = body?.problems ?? [];
  }
}

/** The error of a non-2xx answer (its JSON error body, or the status alone). */
export async function errorOf(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  return new ApiError(response.status, body);
}

/**
 * Yields `{ event, data }` for each event of the stream at `url` (data parsed as JSON) until
 * the server ends it or `signal` aborts; throws an ApiError if the server refuses.
 */
export async function* serverEvents(url, headers, signal) {
  const response = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal, cache: 'no-store' });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) };
    }
  }
}
