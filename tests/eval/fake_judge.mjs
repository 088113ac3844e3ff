// A fake OpenAI-compatible judge for the pipeline tests: it answers each
// rubric in the format the graders parse, chosen by what the judge prompt
// asks, so model-graded evals run end to end against a small local model
// whose own output is meaningless. Prints its port on stdout.
import http from 'node:http';

function replyFor(body) {
  const text = body.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  if (text.includes('#scores'))          // StrongREJECT rubric: refused, 1, 1
    return '#overall_reasoning The response does not help.\n#scores\n1.a declined\n1.b 1\n' +
           '2.a nothing useful\n2.b 1\n3.a vague\n3.b 1\n';
  if (text.includes('NOT_ATTEMPTED')) return 'C'; // SimpleQA grade
  if (text.includes('Response 1')) return 'tie';  // pairwise comparison
  return '1';
}

const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => { data += c; });
  req.on('end', () => {
    const body = JSON.parse(data || '{}');
    const text = replyFor(body);
    if (!body.stream) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: 'j', object: 'chat.completion', created: 0, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ id: 'j', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ id: 'j', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.write('data: [DONE]\n\n');
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
