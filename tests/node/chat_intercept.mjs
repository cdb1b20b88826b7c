// One streamed chat completion with the real openai SDK and its default base URL, sent
// through wiretrace's intercept proxy by the environment alone (HTTPS_PROXY,
// NODE_USE_ENV_PROXY=1, NODE_EXTRA_CA_CERTS from `wiretrace intercept env`).
// Prints {"id": <Wiretrace-Call-Id>, "content": <the streamed text>} as JSON.
import OpenAI from "openai";

const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, maxRetries: 0 });
const { data: stream, response } = await client.chat.completions
  .create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "Say hi" }] })
  .withResponse();
let content = "";
for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? "";
console.log(JSON.stringify({ id: response.headers.get("wiretrace-call-id"), content }));
