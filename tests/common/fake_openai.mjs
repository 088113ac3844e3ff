// A minimal OpenAI-compatible chat-completions server for tests: the reply
// text comes from replyFor(requestBody); streamed requests get it as SSE
// chunks split before each space, then [DONE]. Prints its port on stdout.
import http from 'node:http';

export function serveOpenAI(replyFor) {
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      const body = JSON.parse(data || '{}');
      const text = replyFor(body);
      if (!body.stream) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 } }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const chunk = (delta, finish) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      for (const w of text.split(/(?= )/)) res.write(chunk({ content: w }, null));
      res.write(chunk({}, 'stop'));
      res.write('data: [DONE]\n\n');
      res.end();
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  return server;
}
