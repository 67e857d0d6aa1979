// Real parts for chorus.js tests: a private nats-server (JetStream, temp store, a free port),
// the bridge as a process on a free port with the test policy, and the accounts worker
// with a fresh Postgres database. platform() starts the whole platform instead (every
// worker, the bridge serving the web app and the game files, the default policy) for the
// browser tests. Everything started here is killed by stop(), and on exit.
//
// Binaries: CHORUS_BIN_DIR (default ../target/debug), nats-server: CHORUS_NATS_SERVER
// (default ../.tools/venv/bin/nats-server, else PATH). Postgres: DATABASE_URL's server
// (default postgres://postgres@127.0.0.1:5432/postgres), reached with psql.

import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { connect } from "../chorus.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN_DIR = process.env.CHORUS_BIN_DIR || path.join(ROOT, "target/debug");
const POLICY = path.join(ROOT, "web/test/test-policy.json");
/** How long a process may take to come up. */
const STARTUP_MS = 15000;

/** Every child still running, killed if the test process exits early. */
const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

function natsServerBin() {
  if (process.env.CHORUS_NATS_SERVER) return process.env.CHORUS_NATS_SERVER;
  const tools = path.join(ROOT, ".tools/venv/bin/nats-server");
  return fs.existsSync(tools) ? tools : "nats-server";
}

/** A port nobody listens on right now. */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await once(srv, "close");
  return port;
}

/** Polls `check` every 20 ms until it returns a value (not a sleep: a condition, with a deadline). */
async function until(what, check, proc) {
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (proc && proc.exitCode !== null) throw new Error(`${what}: the process exited (${proc.exitCode})\n${proc.logTail()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not up within ${STARTUP_MS} ms\n${proc?.logTail() ?? ""}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Spawns a process with its output in a log file; `logTail()` quotes the end of it. */
function run(bin, args, env, logFile) {
  const log = fs.openSync(logFile, "a");
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  children.add(child);
  const exited = once(child, "exit");
  child.on("exit", () => children.delete(child));
  child.logTail = () => fs.readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n");
  child.stop = async (signal = "SIGKILL") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return child;
}

async function ready(url) {
  const res = await fetch(url);
  return res.ok;
}

/** A nats-server with JetStream in its own temp dir, on a free port. */
export async function startNats(dir) {
  const proc = run(natsServerBin(), ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", path.join(dir, "js"),
    "--ports_file_dir", dir], {}, path.join(dir, "nats.log"));
  const portsFile = path.join(dir, `nats-server_${proc.pid}.ports`);
  const url = await until("nats-server", async () => {
    const ports = JSON.parse(fs.readFileSync(portsFile, "utf8"));
    return ports.nats[0];
  }, proc);
  return { url, stop: () => proc.stop() };
}

/**
 * The bridge on a free HTTP port with the test policy (`test.>` for everybody), no TCP.
 * `restart()` starts it again on the same port; `kill(signal)` ends it and waits.
 */
export async function startBridge(dir, natsUrl, env = {}, { policy = POLICY } = {}) {
  const port = await freePort();
  const fullEnv = {
    CHORUS_NATS_URL: natsUrl,
    CHORUS_HTTP_ADDR: `127.0.0.1:${port}`,
    CHORUS_TCP_ADDR: "off",
    ...(policy ? { CHORUS_POLICY: policy } : {}),
    CHORUS_LOG: "warn",
    CHORUS_SHUTDOWN_GRACE_MS: "200",
    ...env,
  };
  const bridge = {
    port,
    proc: null,
    /** The WebSocket URL of an endpoint: "public", "private", or "ws" (/v1/ws). */
    url(endpoint = "public") {
      const p = endpoint === "ws" ? "/v1/ws" : `/core/game/v1/real-time/${endpoint}`;
      return `ws://127.0.0.1:${port}${p}`;
    },
    async restart() {
      bridge.proc = run(path.join(BIN_DIR, "chorus-bridge"), [], fullEnv, path.join(dir, "bridge.log"));
      await until("chorus-bridge", () => ready(`http://127.0.0.1:${port}/readyz`), bridge.proc);
    },
    kill: (signal = "SIGKILL") => bridge.proc.stop(signal),
    /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: a peer that stops answering. */
    freeze: (frozen) => bridge.proc.kill(frozen ? "SIGSTOP" : "SIGCONT"),
  };
  await bridge.restart();
  return bridge;
}

/** psql against the admin database of DATABASE_URL's server. */
function psql(sql) {
  const admin = (process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres").replace(/\/[^/]*$/, "/postgres");
  execFileSync("psql", [admin, "-v", "ON_ERROR_STOP=1", "-qc", sql], { stdio: ["ignore", "ignore", "pipe"] });
  return admin;
}

/** A worker binary (`chorus-{name}`) on NATS, its /readyz answering. */
export async function startWorker(dir, name, natsUrl, env = {}) {
  const port = await freePort();
  const proc = run(path.join(BIN_DIR, `chorus-${name}`), [], {
    CHORUS_NATS_URL: natsUrl,
    CHORUS_WORKER_HTTP_ADDR: `127.0.0.1:${port}`,
    CHORUS_LOG: "warn",
    ...env,
  }, path.join(dir, `${name}.log`));
  await until(`chorus-${name}`, () => ready(`http://127.0.0.1:${port}/readyz`), proc);
  return { stop: () => proc.stop() };
}

/** The accounts worker with a fresh database and a generated signing key, ready. */
export async function startAccounts(dir, natsUrl, env = {}) {
  const db = `chorus_web_${process.pid}_${Date.now()}`;
  const admin = psql(`CREATE DATABASE "${db}"`);
  const worker = await startWorker(dir, "accounts", natsUrl, {
    DATABASE_URL: admin.replace(/\/postgres$/, `/${db}`),
    CHORUS_PBKDF2_ITERATIONS: "1000",
    CHORUS_GENERATE_KEY: "true",
    CHORUS_SIGNING_KEY_DIR: path.join(dir, "keys"),
    ...env,
  });
  return {
    async stop() {
      await worker.stop();
      psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    },
  };
}

/**
 * One test file's world: a temp dir, nats-server and the bridge; `client()` connects
 * chorus.js to it with fast backoff; `stop()` closes clients and kills processes.
 */
export async function world({ bridgeEnv = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chorus-web-"));
  const nats = await startNats(dir);
  const bridge = await startBridge(dir, nats.url, bridgeEnv);
  const clients = [];
  const extra = [];
  return {
    dir,
    nats,
    bridge,
    /**
     * A chorus.js client on `endpoint` of `on` (this world's bridge unless told); options
     * override the test defaults.
     */
    client(options = {}, endpoint = "public", on = bridge) {
      const c = connect({ url: on.url(endpoint), WebSocket, minBackoffMs: 20, maxBackoffMs: 200, ...options });
      clients.push(c);
      return c;
    },
    /** Another bridge on the same NATS (a client there stays up while `bridge` restarts). */
    async otherBridge(env = {}) {
      const other = await startBridge(fs.mkdtempSync(path.join(dir, "bridge-")), nats.url, { ...bridgeEnv, ...env });
      extra.push({ stop: () => other.kill() });
      return other;
    },
    async accounts(env) {
      const a = await startAccounts(dir, nats.url, env);
      extra.push(a);
      return a;
    },
    async worker(name, env) {
      const wk = await startWorker(dir, name, nats.url, env);
      extra.push(wk);
      return wk;
    },
    async stop() {
      for (const c of clients) c.close();
      for (const a of extra) await a.stop();
      await bridge.kill();
      await nats.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every worker binary in BIN_DIR (`chorus-*` but the bridge and the bench), as scripts/run starts them. */
function workerNames() {
  return fs
    .readdirSync(BIN_DIR)
    .filter((f) => /^chorus-[a-z0-9-]+$/.test(f) && !["chorus-bridge", "chorus-bench"].includes(f))
    .filter((f) => fs.statSync(path.join(BIN_DIR, f)).mode & 0o111)
    .map((f) => f.slice("chorus-".length))
    .sort();
}

/**
 * The whole platform, as `scripts/run` brings it up but private to one test file: a
 * nats-server, a fresh Postgres database, every worker (each on its own /readyz port, the
 * accounts worker first with a generated key), and the bridge with the default policy,
 * serving web/ (CHORUS_WEB_DIR) and games/ (CHORUS_GAMES_DIR). `env` reaches every process.
 * Returns `{url, bridge, workers, restartBridge(), stop()}`; `url` is the app's address.
 */
export async function platform({ env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chorus-app-"));
  const nats = await startNats(dir);
  const db = `chorus_app_${process.pid}_${Date.now()}`;
  const admin = psql(`CREATE DATABASE "${db}"`);
  const common = {
    DATABASE_URL: admin.replace(/\/postgres$/, `/${db}`),
    CHORUS_GAMES_DIR: path.join(ROOT, "games"),
    CHORUS_STORE_CATALOG: path.join(ROOT, "workers/store/catalog.json"),
    CHORUS_SIGNING_KEY_DIR: path.join(dir, "keys"),
    CHORUS_GENERATE_KEY: "true",
    CHORUS_PBKDF2_ITERATIONS: "1000",
    ...env,
  };
  const stops = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    await nats.stop();
    try {
      psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    } catch {
      // the server went away: nothing to clean
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const names = workerNames();
    // Accounts first: it makes the signing key and runs its migrations before the others.
    const accounts = await startWorker(dir, "accounts", nats.url, common);
    stops.push(accounts.stop);
    const rest = await Promise.all(
      names.filter((n) => n !== "accounts").map(async (n) => {
        const wk = await startWorker(dir, n, nats.url, common);
        stops.push(wk.stop);
        return n;
      }),
    );
    const bridge = await startBridge(dir, nats.url, { ...common, CHORUS_WEB_DIR: path.join(ROOT, "web") }, { policy: null });
    stops.push(() => bridge.kill());
    const jwks = `http://127.0.0.1:${bridge.port}/.well-known/jwks.json`;
    await until("the bridge's signing keys", () => ready(jwks), bridge.proc);
    return {
      dir,
      nats,
      bridge,
      workers: ["accounts", ...rest],
      url: `http://127.0.0.1:${bridge.port}/`,
      /** Kills the bridge (SIGKILL: no goodbye to anyone). */
      killBridge: () => bridge.kill("SIGKILL"),
      /** Starts it again on the same port, ready and holding the signing keys. */
      async startBridge() {
        await bridge.restart();
        await until("the bridge's signing keys", () => ready(jwks), bridge.proc);
      },
      /** Kill and start on the same port. */
      async restartBridge() {
        await bridge.kill("SIGKILL");
        await this.startBridge();
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Signs a new user up and logs in through `guest`'s helpers. `getToken` gives the login's
 * access token first, then refreshes (rotating the refresh token); `calls` logs its calls.
 */
export async function signUp(guest, name, password = "correct-horse-battery") {
  await guest.accounts.signup(name, password);
  const login = await guest.accounts.login(name, password);
  let refresh = login.refresh_token;
  const calls = [];
  async function getToken() {
    calls.push(Date.now());
    if (calls.length === 1) return login.access_token;
    const pair = await guest.accounts.refresh(refresh);
    refresh = pair.refresh_token;
    return pair.access_token;
  }
  return { login, calls, getToken };
}

/** The detail of the next `type` event on `target` for which `pred(detail)` holds. */
export function next(target, type, pred = () => true) {
  return new Promise((resolve) => {
    const off = target.on(type, (detail) => {
      if (pred(detail)) {
        off();
        resolve(detail);
      }
    });
  });
}

/** Resolves when `target` is in `state` (now or later). */
export function inState(target, state) {
  if (target.state === state) return Promise.resolve();
  return next(target, "state", (d) => d.state === state);
}

/** A queue of messages a subscription receives: `await inbox.next()` takes the next one. */
export function inbox() {
  const items = [];
  const waiters = [];
  return {
    items,
    push(data, msg) {
      const w = waiters.shift();
      if (w) w({ data, msg });
      else items.push({ data, msg });
    },
    next() {
      if (items.length) return Promise.resolve(items.shift());
      return new Promise((r) => waiters.push(r));
    },
  };
}

/** A WebSocket implementation that counts the connections chorus.js opens. */
export function countingWebSocket() {
  const counter = { opened: 0 };
  counter.WebSocket = class extends WebSocket {
    constructor(...args) {
      super(...args);
      counter.opened++;
    }
  };
  return counter;
}
