// Preloaded into Portkey's gateway by the gateway benchmark (bench/childServer.ts): every fetch
// response copied into one whose headers may be changed (Portkey-AI/gateway#1389, #1550).
const original = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const res = await original(...args);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
};
