// The official `openai` npm package (v4: the last major version with beta.threads)
// driving the example server, unchanged but for baseURL. tests/test_server_node.py runs
// this with two servers: RUNSTATE_AUTO_BASE (with --auto, the scripted worker) and
// RUNSTATE_MANUAL_BASE (without; the test plays the worker through /advance). It prints
// what it saw as one JSON object; the Python test checks it.
import OpenAI from "openai";

const autoBase = process.env.RUNSTATE_AUTO_BASE;
const manualBase = process.env.RUNSTATE_MANUAL_BASE;
const options = { apiKey: "test", maxRetries: 0, timeout: 60_000 };
const auto = new OpenAI({ ...options, baseURL: autoBase });
const manual = new OpenAI({ ...options, baseURL: manualBase });
const seen = {};

// Create an assistant and a thread, then create_and_poll: the worker completes the run.
const assistant = await auto.beta.assistants.create({
  model: "gpt-4o",
  name: "node",
  instructions: "Answer briefly.",
});
seen.assistant = { id: assistant.id, object: assistant.object, model: assistant.model };
const thread = await auto.beta.threads.create({
  messages: [{ role: "user", content: "Hi from node" }],
});
seen.thread = { id: thread.id, object: thread.object };
const polled = await auto.beta.threads.runs.createAndPoll(
  thread.id,
  { assistant_id: assistant.id },
  { pollIntervalMs: 50 },
);
seen.createAndPoll = {
  id: polled.id,
  status: polled.status,
  assistant_id: polled.assistant_id,
  thread_id: polled.thread_id,
  usage: polled.usage,
};

// Stream a run: the events in order, the text the deltas carry, the final run.
const events = [];
let text = "";
const stream = auto.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id });
stream.on("event", (event) => events.push(event.event));
stream.on("textDelta", (delta) => {
  text += delta.value ?? "";
});
const streamed = await stream.finalRun();
const messages = await stream.finalMessages();
seen.stream = {
  events,
  text,
  status: streamed.status,
  id: streamed.id,
  messages: messages.map((m) => m.content.map((c) => c.text?.value ?? null)),
};

// Cancel, on the server without a worker: cancelling, then (the hook plays the worker)
// cancelled, then a second cancel is refused with the API's 400.
const quiet = await manual.beta.threads.create({
  messages: [{ role: "user", content: "Hi" }],
});
const toCancel = await manual.beta.threads.runs.create(quiet.id, { assistant_id: "asst_node" });
const cancelling = await manual.beta.threads.runs.cancel(quiet.id, toCancel.id);
const hook = await fetch(`${manualBase}/threads/${quiet.id}/runs/${toCancel.id}/advance`, {
  method: "POST",
  headers: { "content-type": "application/json", "OpenAI-Beta": "assistants=v2" },
  body: JSON.stringify({ to: "cancelled" }),
});
const cancelled = await manual.beta.threads.runs.retrieve(quiet.id, toCancel.id);
seen.cancel = { first: cancelling.status, hook: hook.status, then: cancelled.status };
try {
  await manual.beta.threads.runs.cancel(quiet.id, toCancel.id);
  seen.cancel.again = "accepted";
} catch (err) {
  seen.cancel.again = {
    class: err.constructor.name,
    status: err.status,
    error: err.error,
  };
}

// Paging: three more runs on the first thread (five in all), listed two by two, by
// hand (hasNextPage / getNextPage) and by auto-pagination, both orders.
for (let i = 0; i < 3; i++) {
  const run = await auto.beta.threads.runs.createAndPoll(
    thread.id,
    { assistant_id: assistant.id },
    { pollIntervalMs: 50 },
  );
  if (run.status !== "completed") throw new Error(`run ${run.id} ended ${run.status}`);
}
const pages = [];
let page = await auto.beta.threads.runs.list(thread.id, { limit: 2 });
pages.push(page.data.map((r) => r.id));
while (page.hasNextPage()) {
  page = await page.getNextPage();
  pages.push(page.data.map((r) => r.id));
}
const ascending = [];
for await (const run of auto.beta.threads.runs.list(thread.id, { limit: 2, order: "asc" })) {
  ascending.push({ id: run.id, created_at: run.created_at });
}
seen.paging = { pages, ascending };

console.log(JSON.stringify(seen));
