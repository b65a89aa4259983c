// Runs the PostGraphile CLI in PEER_WORKERS Node.js processes sharing one port (node:cluster),
// the way it is deployed on a machine with more than one core: one Node.js process is one
// thread of JavaScript, so a single process cannot use a second core.
//
//     node cluster.mjs <path to postgraphile's cli-run.js> <its arguments...>
//
// The primary prints one line, "listening <workers>", once every worker accepts connections
// (`bench api` waits for it), and nothing after. A worker exits when the primary goes away.
// Used by `bench api` (src/bin/bench.rs).
import cluster from "node:cluster";
import { pathToFileURL } from "node:url";

const workers = Number(process.env.PEER_WORKERS || "1");

if (cluster.isPrimary) {
  cluster.setupPrimary({ stdio: ["ignore", "ignore", "ignore", "ipc"] });
  let listening = 0;
  cluster.on("listening", () => {
    listening += 1;
    if (listening === workers) console.log(`listening ${workers}`);
  });
  cluster.on("exit", (_worker, code) => {
    console.error(`a PostGraphile worker exited (${code})`);
    process.exit(1);
  });
  for (let i = 0; i < workers; i += 1) cluster.fork();
} else {
  process.on("disconnect", () => process.exit(0));
  const [node, , cli, ...args] = process.argv;
  process.argv = [node, cli, ...args];
  await import(pathToFileURL(cli).href);
}
