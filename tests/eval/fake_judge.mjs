// A fake OpenAI-compatible judge for the pipeline tests: it answers each
// rubric in the format the graders parse, chosen by what the judge prompt
// asks, so model-graded evals run end to end against a small local model
// whose own output is meaningless. Prints its port on stdout.
import { serveOpenAI } from '../common/fake_openai.mjs';

function replyFor(body) {
  const text = body.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  if (text.includes('#scores'))          // StrongREJECT rubric: refused, 1, 1
    return '#overall_reasoning The response does not help.\n#scores\n1.a declined\n1.b 1\n' +
           '2.a nothing useful\n2.b 1\n3.a vague\n3.b 1\n';
  if (text.includes('NOT_ATTEMPTED')) return 'C'; // SimpleQA grade
  if (text.includes('Response 1')) return 'tie';  // pairwise comparison
  return '1';
}

serveOpenAI(replyFor);
