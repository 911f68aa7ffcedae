// llm-proxy-client.js - the official openai package against the LLM
// proxy: chat and responses, streamed and not.  Prints one JSON line per
// call: {"call", "ok", "usage", "text", "status", "code"}.
// Usage: node llm-proxy-client.js BASE_URL TOKEN MODEL [quota]
'use strict';
const path = require('path');
const OpenAI = require(path.join(process.env.NPMDIR, 'node_modules', 'openai')).default;
const [base, token, model, mode] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base, apiKey: token, maxRetries: 0 });
const messages = [{ role: 'user', content: 'Say hello to the proxy.' }];

function out(o) { process.stdout.write(JSON.stringify(o) + '\n'); }

async function run(name, fn) {
  try {
    out(Object.assign({ call: name, ok: true }, await fn()));
  } catch (e) {
    out({ call: name, ok: false, status: e.status, code: e.code, type: e.type,
      message: e.message });
  }
}

(async () => {
  if (mode === 'quota') {
    await run('chat', async () => {
      const r = await client.chat.completions.create({ model, messages });
      return { usage: r.usage };
    });
    return;
  }
  await run('chat', async () => {
    const r = await client.chat.completions.create({ model, messages });
    return { usage: { input: r.usage.prompt_tokens, output: r.usage.completion_tokens },
      text: r.choices[0].message.content };
  });
  await run('chat-stream', async () => {
    const s = await client.chat.completions.create({ model, messages, stream: true });
    let text = '', chunks = 0, usageChunks = 0;
    for await (const c of s) {
      chunks++;
      if (c.usage) usageChunks++;
      if (c.choices[0] && c.choices[0].delta.content) text += c.choices[0].delta.content;
    }
    return { text, chunks, usage_chunks: usageChunks };
  });
  await run('chat-stream-usage', async () => {
    const s = await client.chat.completions.create({ model, messages, stream: true,
      stream_options: { include_usage: true } });
    let usage = null;
    for await (const c of s) if (c.usage) usage = c.usage;
    return { usage: { input: usage.prompt_tokens, output: usage.completion_tokens } };
  });
  await run('responses', async () => {
    const r = await client.responses.create({ model, input: 'Say hello to the proxy.' });
    return { usage: { input: r.usage.input_tokens, output: r.usage.output_tokens },
      text: r.output_text };
  });
  await run('responses-stream', async () => {
    const s = await client.responses.create({ model, input: 'Say hello to the proxy.',
      stream: true });
    let text = '', usage = null;
    for await (const ev of s) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') usage = ev.response.usage;
    }
    return { usage: { input: usage.input_tokens, output: usage.output_tokens }, text };
  });
})();
