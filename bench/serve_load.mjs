// Load test for `deliberate serve`: CLIENTS concurrent streaming clients for
// DURATION seconds, each sending chat completions with stream=true one after
// another. Every stream is checked: each event is "data: <JSON chunk>" with
// the same id, choices carry deltas, a finish_reason arrives, a usage chunk
// follows (include_usage) and the stream ends with "data: [DONE]".
// Prints requests, errors, malformed streams and tokens/s as JSON.
const base = process.env.DL_BASE_URL;
const key = process.env.DL_API_KEY;
const clients = Number(process.env.CLIENTS || 50);
const seconds = Number(process.env.DURATION || 60);
const deadline = Date.now() + seconds * 1000;

let requests = 0, errors = 0, malformed = 0, tokens = 0;
const errorSamples = [];

async function oneStream(i, n) {
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: 'tiny', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: `Client ${i}, request ${n}: what is ${i} + ${n}?` }],
      max_completion_tokens: 48, reasoning_effort: 'low', seed: i * 1000 + n,
    }),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const text = await res.text();
  const events = text.split('\n\n').filter((e) => e.length && !e.startsWith(':'));
  if (events.at(-1) !== 'data: [DONE]') return { ok: false, why: 'no [DONE] at the end' };
  let id = null, finish = false, usage = null;
  for (const ev of events.slice(0, -1)) {
    if (!ev.startsWith('data: ')) return { ok: false, why: `not a data line: ${ev.slice(0, 40)}` };
    let c;
    try { c = JSON.parse(ev.slice(6)); } catch { return { ok: false, why: 'bad JSON' }; }
    if (c.error) return { ok: false, why: `error event: ${c.error.message}` };
    if (c.object !== 'chat.completion.chunk') return { ok: false, why: 'wrong object' };
    id ??= c.id;
    if (c.id !== id) return { ok: false, why: 'id changed' };
    for (const ch of c.choices) if (ch.finish_reason) finish = true;
    if (c.usage) usage = c.usage;
  }
  if (!finish || !usage) return { ok: false, why: 'no finish_reason or usage' };
  return { ok: true, tokens: usage.completion_tokens };
}

async function client(i) {
  let n = 0;
  while (Date.now() < deadline) {
    requests++;
    try {
      const r = await oneStream(i, n++);
      if (r.ok) tokens += r.tokens;
      else { malformed++; if (errorSamples.length < 5) errorSamples.push(r.why); }
    } catch (e) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(String(e.message || e));
    }
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
const secs = (Date.now() - t0) / 1000;
console.log(JSON.stringify({ clients, seconds: secs, requests, errors, malformed_streams: malformed,
  completion_tokens: tokens, tokens_per_s: +(tokens / secs).toFixed(1), samples: errorSamples }));
process.exit(errors || malformed ? 1 : 0);
