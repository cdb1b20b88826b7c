// One streamed chat completion with the real openai SDK and its default base URL, sent
// through wiretrace's intercept proxy by the environment of `wiretrace intercept env`
// (HTTPS_PROXY, NODE_EXTRA_CA_CERTS). Node 22.21+/24 honour HTTPS_PROXY in fetch with
// NODE_USE_ENV_PROXY=1 and need nothing else; older Node has no such switch, so there the
// script hands the SDK undici's EnvHttpProxyAgent, which reads the same variables.
// Prints {"id": <Wiretrace-Call-Id>, "content": <the streamed text>, "agent": bool} as JSON.
import OpenAI from "openai";
import { EnvHttpProxyAgent, fetch as undiciFetch } from "undici";

const [major, minor] = process.versions.node.split(".").map(Number);
const envProxy = major > 24 || major === 24 || (major === 22 && minor >= 21);
const options = envProxy
  ? {}
  : { fetch: undiciFetch, fetchOptions: { dispatcher: new EnvHttpProxyAgent() } };
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, maxRetries: 0, ...options });
const { data: stream, response } = await client.chat.completions
  .create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "Say hi" }] })
  .withResponse();
let content = "";
for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? "";
console.log(
  JSON.stringify({ id: response.headers.get("wiretrace-call-id"), content, agent: !envProxy }),
);
