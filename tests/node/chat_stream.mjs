// One streamed chat completion with the real openai SDK, as an app would make it.
// Usage: node chat_stream.mjs <baseURL> [x-fake-scenario]
// Prints {"id": <Wiretrace-Call-Id>, "content": <the streamed text>} as JSON.
import OpenAI from "openai";

const [baseURL, scenario = ""] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "sk-node-test-1234567890abcdef", maxRetries: 0 });
const { data: stream, response } = await client.chat.completions
  .create(
    { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "Say hi" }] },
    { headers: scenario ? { "x-fake-scenario": scenario } : {} },
  )
  .withResponse();
let content = "";
for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? "";
console.log(JSON.stringify({ id: response.headers.get("wiretrace-call-id"), content }));
