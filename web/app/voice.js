// voice.js — a voice channel as a WebRTC mesh, without any DOM of its own. Chorus carries
// no audio: it keeps who is in which channel (svc.voice.*) and lets two members of one
// channel, and nobody else, publish on each other's `user.{id}.rtc` inbox. Over those inboxes
// this module signals one RTCPeerConnection per peer; the audio then flows browser to browser.
//
//   const call = new VoiceCall({ chorus, channel: "lobby", me: chorus.user.id });
//   call.addEventListener("change", render);   // members, their connection states, mute
//   call.addEventListener("levels", meters);   // every LEVEL_MS: detail = Map(id → 0..1)
//   await call.join();                          // throws a VoiceError or a ChorusError
//   call.setMuted(true); await call.leave();
//
// Negotiation is "perfect negotiation" (W3C webrtc-pc §10.7, MDN): both sides add their
// track and offer whenever `negotiationneeded` fires; of two peers the one with the smaller
// user id is polite. On an offer collision (glare) the impolite side ignores the incoming
// offer, the polite side rolls its own back and answers. Every signalling message carries
// the sender's session id (`sid`, new for each RTCPeerConnection), so a peer that reloaded
// and comes back with a fresh connection is told apart from the old one and gets a fresh
// connection here too. ICE `failed` (or `disconnected` for a few seconds, or a link still
// not connected after STUCK_MS) restarts ICE, which renegotiates; only the impolite side
// restarts then (both sides see it), so that two restarts never collide: Chromium may gather
// no candidates for an answer made right after rolling back its own offer, and restarts
// colliding on both sides repeated that each time. A restored signalling subscription
// after a reconnect restarts ICE too, from whichever side reconnected.
//
// Nothing here logs: signalling bodies (SDP, candidates) never reach the console.

/** How often levels are measured and the `levels` event fires (ms). */
const LEVEL_MS = 150;
/** How long ICE may stay `disconnected` before it is restarted (ms). */
const DISCONNECTED_RESTART_MS = 4000;
/**
 * A link not connected after this long restarts ICE (the impolite side: a full renegotiation with fresh
 * candidates), at most STUCK_RESTARTS times: the safety net for signalling lost on the way.
 */
const STUCK_MS = 10000;
const STUCK_RESTARTS = 5;
/** Publishing to a peer right after a join may be `forbidden` until the grant reaches the bridge. */
const SEND_RETRIES = [100, 200, 400, 800, 1600, 3200];
/** Most signalling messages waiting to go to one peer (a stuck peer costs only itself). */
const MAX_QUEUE = 64;
/** Most bytes of an SDP accepted from a peer. */
const MAX_SDP = 60000;
/** How long `voice.{channel}` may wait for its grant after the join (chorus.js retries). */
const GRANT_WAIT_MS = 4000;

/** A failure of the voice feature itself (not the platform's): the microphone, the browser. */
export class VoiceError extends Error {
  /**
   * @param {"mic_denied" | "no_mic" | "mic_busy" | "unsupported" | "aborted"} code
   * @param {string} message a sentence for a player
   */
  constructor(code, message) {
    super(message);
    this.name = "VoiceError";
    this.code = code;
  }
}

/** What a failed getUserMedia means to a player. */
function micError(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return new VoiceError("mic_denied", "Microphone access was denied, so voice is off. Allow the microphone for this site in your browser to talk; everything else works without it.");
    case "NotFoundError":
    case "OverconstrainedError":
      return new VoiceError("no_mic", "No microphone was found. Plug one in to use voice.");
    case "NotReadableError":
    case "AbortError":
      return new VoiceError("mic_busy", "The microphone could not be opened (another app may be using it).");
    default:
      return new VoiceError("unsupported", "Voice could not start in this browser.");
  }
}

/**
 * Whether `a` comes before `b`: user ids are decimal strings, compared as numbers (so "9" <
 * "10"); anything else falls back to plain string order.
 */
export function idBefore(a, b) {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) < BigInt(b);
  return a < b;
}

function randomSid() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/** Notes a negotiation step on the link's bounded trace (kinds only, never bodies). */
function note(link, step) {
  link.trace.push(step);
  if (link.trace.length > 40) link.trace.shift();
}

/** RMS of an analyser's current window, 0..1. */
function rms(analyser, buf) {
  analyser.getFloatTimeDomainData(buf);
  let sum = 0;
  for (const v of buf) sum += v * v;
  return Math.min(1, Math.sqrt(sum / buf.length) * 4);
}

/** A mesh call in one voice channel. Events: `change`, `levels` (detail: Map id → level). */
export class VoiceCall extends EventTarget {
  /** "idle" | "joining" | "joined" | "leaving". */
  state = "idle";
  /** Whether the microphone track is disabled. */
  muted = false;
  /** The most members of the channel (from the join reply). */
  maxPeers = 6;
  /** id → name of everyone in the channel (self included). */
  members = new Map();

  #c;
  #channel;
  #me;
  #stream = null;
  #iceServers = [];
  /** peer id → Link. */
  #links = new Map();
  #offRtc = null;
  #offChannel = null;
  #beat = null;
  #levelTimer = null;
  #audio = null;
  #selfMeter = null;
  /** Bumped by leave(): async work of an older call stops. */
  #gen = 0;

  /** @param {{chorus: any, channel: string, me: string}} o */
  constructor({ chorus, channel, me }) {
    super();
    this.#c = chorus;
    this.#channel = channel;
    this.#me = me;
  }

  get channel() {
    return this.#channel;
  }

  /** The connection state of each peer: id → RTCPeerConnectionState. */
  peerStates() {
    return new Map([...this.#links].map(([id, l]) => [id, l.pc.connectionState]));
  }

  #changed() {
    this.dispatchEvent(new Event("change"));
  }

  /**
   * Asks for the microphone, joins the channel and connects to every member. Rejects with a
   * VoiceError (the microphone) or the platform's ChorusError (`conflict` when full); either
   * way nothing is left open.
   */
  async join() {
    if (this.state !== "idle") return;
    const gen = ++this.#gen;
    this.state = "joining";
    this.#changed();
    try {
      const md = globalThis.navigator?.mediaDevices;
      if (!md?.getUserMedia || typeof RTCPeerConnection !== "function") {
        throw new VoiceError("unsupported", "Voice needs a browser with WebRTC on a secure (https) page.");
      }
      try {
        this.#stream = await md.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true }, video: false });
      } catch (err) {
        throw micError(err);
      }
      if (gen !== this.#gen) throw new VoiceError("aborted", "left before joining");
      this.#startAudio();
      // The inbox first, so that no peer's early offer is missed.
      this.#offRtc = this.#c.sub("user.{self}.rtc", (data, msg) => this.#onSignal(data, msg), {
        restored: () => this.#resync(true),
      });
      await this.#offRtc.ready;
      const reply = await this.#c.request("svc.voice.join", { channel: this.#channel });
      if (gen !== this.#gen) throw new VoiceError("aborted", "left before joining");
      this.#iceServers = Array.isArray(reply.ice_servers) ? reply.ice_servers : [];
      this.maxPeers = Math.max(2, Number(reply.max_peers) || 6);
      this.state = "joined";
      this.#applyMembers(reply.members);
      this.#subscribeChannel(gen);
      const every = Math.max(1000, Number(reply.heartbeat_ms) || 5000);
      this.#beat = setInterval(() => this.#heartbeat(), every);
      this.#changed();
    } catch (err) {
      if (gen === this.#gen) this.#teardown();
      else if (this.state === "idle" && this.#stream) {
        // leave() came first: what this join opened after it is closed here.
        for (const t of this.#stream.getTracks()) t.stop();
        this.#stream = null;
      }
      throw err;
    }
  }

  /** Leaves the channel and closes every connection and the microphone. */
  async leave() {
    if (this.state === "idle" || this.state === "leaving") return;
    this.state = "leaving";
    this.#changed();
    this.#teardown();
    // Also after an unfinished join: its request may have gone through (not_found is fine).
    await this.#c.request("svc.voice.leave", { channel: this.#channel }).catch(() => {});
  }

  /** Mutes or unmutes the microphone (the track stays, silent: nothing to renegotiate). */
  setMuted(muted) {
    this.muted = Boolean(muted);
    for (const t of this.#stream?.getAudioTracks() ?? []) t.enabled = !this.muted;
    this.#changed();
  }

  /**
   * Each peer's connection state and audio counters, from getStats: id → {state, ice,
   * signaling, polite, gathering, sid, remoteSid, bytesReceived, bytesSent, sent, dropped, received,
   * trace} (sid and remoteSid are the two sides' session ids of the link; sent, dropped and
   * received count signalling messages). For tests and diagnostics.
   */
  async stats() {
    const out = {};
    for (const [id, link] of this.#links) {
      let bytesReceived = 0;
      let bytesSent = 0;
      try {
        const report = await link.pc.getStats();
        report.forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "audio") bytesReceived += s.bytesReceived ?? 0;
          if (s.type === "outbound-rtp" && s.kind === "audio") bytesSent += s.bytesSent ?? 0;
        });
      } catch {
        // closed meanwhile
      }
      const pc = link.pc;
      out[id] = { state: pc.connectionState, ice: pc.iceConnectionState, signaling: pc.signalingState, polite: link.polite, gathering: pc.iceGatheringState, sid: link.sid, remoteSid: link.remoteSid, bytesReceived, bytesSent, ...link.counts, trace: link.trace.join(" ") };
    }
    return out;
  }

  #teardown() {
    this.#gen++;
    clearInterval(this.#beat);
    clearInterval(this.#levelTimer);
    this.#beat = this.#levelTimer = null;
    this.#offRtc?.();
    this.#offChannel?.();
    this.#offRtc = this.#offChannel = null;
    for (const id of [...this.#links.keys()]) this.#closeLink(id);
    for (const t of this.#stream?.getTracks() ?? []) t.stop();
    this.#stream = null;
    this.#audio?.close().catch(() => {});
    this.#audio = this.#selfMeter = null;
    this.members.clear();
    this.muted = false;
    this.state = "idle";
    this.#changed();
  }

  // ── membership ──────────────────────────────────────────────────────────────────────

  /** The channel's events (`joined`/`left`); the grant may lag the join a little (chorus.js waits for it). */
  #subscribeChannel(gen) {
    const off = this.#c.sub(`voice.${this.#channel}`, (ev) => this.#onChannelEvent(ev), {
      grantWaitMs: GRANT_WAIT_MS,
      restored: () => this.#resync(false),
      error: (err) => {
        if (gen !== this.#gen || this.#offChannel !== off) return;
        this.#offChannel = null;
        // Timed out or removed: the heartbeat finds out and joins again.
        if (err.code === "revoked") this.#heartbeat();
      },
    });
    this.#offChannel = off;
  }

  #onChannelEvent(ev) {
    if (this.state !== "joined" || !ev || typeof ev.user !== "string") return;
    if (ev.user === this.#me) return;
    if (ev.event === "joined") {
      this.members.set(ev.user, String(ev.name ?? ev.user));
      const link = this.#links.get(ev.user);
      if (link && ["failed", "closed"].includes(link.pc.connectionState)) this.#closeLink(ev.user);
      this.#ensureLink(ev.user);
    } else if (ev.event === "left") {
      this.members.delete(ev.user);
      this.#closeLink(ev.user);
    }
    this.#changed();
  }

  /** Members from a join reply: links to the new ones, none to those gone. */
  #applyMembers(list) {
    const now = new Map();
    for (const m of Array.isArray(list) ? list : []) {
      if (m && typeof m.id === "string") now.set(m.id, String(m.name ?? m.id));
    }
    now.set(this.#me, now.get(this.#me) ?? this.#c.user?.name ?? "you");
    this.members = now;
    for (const id of [...this.#links.keys()]) if (!now.has(id)) this.#closeLink(id);
    for (const id of now.keys()) if (id !== this.#me) this.#ensureLink(id);
  }

  /** Every heartbeat_ms; `not_found` means the channel forgot us (timed out): join again. */
  async #heartbeat() {
    if (this.state !== "joined") return;
    const gen = this.#gen;
    try {
      await this.#c.request("svc.voice.heartbeat", { channel: this.#channel });
    } catch (err) {
      if (gen === this.#gen && err?.code === "not_found") this.#resync(false);
    }
  }

  /**
   * After a reconnect (messages may have been lost) or a timeout: join again (a renewal when
   * still a member), reconcile the members, and restart ICE where a link is not connected.
   */
  async #resync(restartIce) {
    if (this.state !== "joined") return;
    const gen = this.#gen;
    try {
      const reply = await this.#c.request("svc.voice.join", { channel: this.#channel });
      if (gen !== this.#gen || this.state !== "joined") return;
      if (Array.isArray(reply.ice_servers)) this.#iceServers = reply.ice_servers;
      this.#applyMembers(reply.members);
      if (!this.#offChannel) this.#subscribeChannel(gen);
      if (restartIce) {
        for (const link of this.#links.values()) {
          if (link.pc.connectionState !== "connected") link.pc.restartIce();
        }
      }
      this.#changed();
    } catch {
      // The next heartbeat tries again.
    }
  }

  // ── links ───────────────────────────────────────────────────────────────────────────

  /** The link to `id`, made when missing (and room is left under max_peers). */
  #ensureLink(id) {
    let link = this.#links.get(id);
    if (link) return link;
    if (this.#links.size >= this.maxPeers - 1 || !this.#stream) return null;
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers });
    link = {
      id,
      pc,
      sid: randomSid(),
      remoteSid: null,
      polite: idBefore(this.#me, id),
      makingOffer: false,
      ignoreOffer: false,
      settingAnswer: false,
      /** Incoming messages, handled one after another. */
      inbox: Promise.resolve(),
      /** Outgoing messages, sent (and acknowledged) one after another. */
      outbox: Promise.resolve(),
      queued: 0,
      /** Signalling messages sent, given up on, and received (counts only, never bodies). */
      counts: { sent: 0, dropped: 0, received: 0 },
      /** The last steps of negotiation, by kind only (never SDP or candidates): diagnostics. */
      trace: [],
      restartTimer: null,
      watchdog: null,
      stuck: 0,
      player: null,
      meter: null,
    };
    this.#links.set(id, link);
    for (const track of this.#stream.getAudioTracks()) pc.addTrack(track, this.#stream);
    pc.onnegotiationneeded = async () => {
      try {
        link.makingOffer = true;
        note(link, "nn");
        await pc.setLocalDescription();
        this.#send(link, { description: pc.localDescription.toJSON() });
      } catch (err) {
        note(link, `nn-err:${err?.name}`); // closed meanwhile, or superseded by the peer's offer
      } finally {
        link.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.#send(link, { candidate: candidate.toJSON() });
    };
    pc.oniceconnectionstatechange = () => {
      clearTimeout(link.restartTimer);
      const s = pc.iceConnectionState;
      note(link, `ice:${s}`);
      if (s === "failed") this.#restartIce(link);
      else if (s === "disconnected") {
        link.restartTimer = setTimeout(() => {
          if (this.#links.get(id) === link && pc.iceConnectionState === "disconnected") this.#restartIce(link);
        }, DISCONNECTED_RESTART_MS);
      }
    };
    pc.onconnectionstatechange = () => this.#changed();
    link.watchdog = setInterval(() => {
      const s = pc.connectionState;
      if (s === "connected") link.stuck = 0;
      else if (s !== "disconnected" && !link.polite && link.stuck < STUCK_RESTARTS) {
        link.stuck++;
        note(link, "stuck");
        this.#restartIce(link);
      }
    }, STUCK_MS);
    pc.ontrack = (e) => this.#onTrack(link, e);
    this.#changed();
    return link;
  }

  /** A failed or stuck link's ICE restart: the impolite side's only (see the header). */
  #restartIce(link) {
    if (!link.polite) link.pc.restartIce();
  }

  #closeLink(id) {
    const link = this.#links.get(id);
    if (!link) return;
    this.#links.delete(id);
    clearTimeout(link.restartTimer);
    clearInterval(link.watchdog);
    link.pc.onnegotiationneeded = link.pc.onicecandidate = link.pc.oniceconnectionstatechange = null;
    link.pc.onconnectionstatechange = link.pc.ontrack = null;
    link.pc.close();
    if (link.player) {
      link.player.pause();
      link.player.srcObject = null;
    }
    link.meter?.source.disconnect();
    this.#changed();
  }

  /** The peer's audio: played by a detached <audio> and measured for the talking indicator. */
  #onTrack(link, e) {
    const stream = e.streams[0] ?? new MediaStream([e.track]);
    if (!link.player) {
      link.player = new Audio();
      link.player.autoplay = true;
    }
    if (link.player.srcObject !== stream) {
      link.player.srcObject = stream;
      link.player.play().catch(() => {}); // blocked until a gesture: the next click resumes it
    }
    if (this.#audio && !link.meter) link.meter = this.#meter(stream);
  }

  // ── signalling ──────────────────────────────────────────────────────────────────────

  /** Queues a message to the peer; sent in order, each retried while the grant is on its way. */
  #send(link, body) {
    if (link.queued >= MAX_QUEUE) return; // the peer is not taking them: ICE restart recovers
    link.queued++;
    const data = { sid: link.sid, ...body };
    const subject = `user.${link.id}.rtc`;
    link.outbox = link.outbox.then(async () => {
      try {
        for (let attempt = 0; this.#links.get(link.id) === link; attempt++) {
          try {
            await this.#c.pub(subject, data, { ack: true });
            link.counts.sent++;
            note(link, `out:${body.description?.type ?? "cand"}`);
            return;
          } catch (err) {
            const retry = ["forbidden", "rate_limited"].includes(err?.code) && attempt < SEND_RETRIES.length;
            if (!retry) {
              link.counts.dropped++;
              return;
            }
            await wait(SEND_RETRIES[attempt]);
          }
        }
      } finally {
        link.queued--;
      }
    });
  }

  /** A message on our rtc inbox: only a member of our channel can have sent it. */
  #onSignal(data, msg) {
    const from = msg?.from?.id;
    if (this.state !== "joined" || typeof from !== "string" || from === this.#me) return;
    if (!data || typeof data !== "object" || typeof data.sid !== "string") return;
    let link = this.#links.get(from);
    // A new session of the peer (a reload, a new connection there): start afresh here too.
    if (link && link.remoteSid && link.remoteSid !== data.sid) {
      const type = data.description?.type;
      if (type === "offer") {
        this.#closeLink(from);
        link = null;
      } else if (type === "answer" && link.pc.signalingState === "have-local-offer") {
        link.remoteSid = data.sid; // the peer's new connection answers our offer
      } else {
        return; // a straggler of an older session
      }
    }
    // Only an offer opens a connection: an answer or a candidate without one is a straggler.
    if (!link && data.description?.type !== "offer") return;
    link ??= this.#ensureLink(from);
    if (!link) return;
    if (!this.members.has(from) && msg.from.name) {
      this.members.set(from, String(msg.from.name));
      this.#changed();
    }
    link.remoteSid ??= data.sid;
    link.counts.received++;
    link.inbox = link.inbox.then(() => this.#handle(link, data)).catch((err) => note(link, `err:${err?.name}`));
  }

  /** Perfect negotiation's message handler (polite rolls back on glare, impolite ignores). */
  async #handle(link, { description, candidate }) {
    const pc = link.pc;
    if (this.#links.get(link.id) !== link) return;
    if (description) {
      if (!["offer", "answer"].includes(description.type) || typeof description.sdp !== "string" || description.sdp.length > MAX_SDP) return;
      const readyForOffer = !link.makingOffer && (pc.signalingState === "stable" || link.settingAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      link.ignoreOffer = !link.polite && collision;
      note(link, `in:${description.type}${collision ? (link.ignoreOffer ? ":ignored" : ":rollback") : ""}`);
      if (link.ignoreOffer) return;
      link.settingAnswer = description.type === "answer";
      try {
        if (collision) {
          // Glare, and we are polite: roll our offer back, take theirs.
          await Promise.all([pc.setLocalDescription({ type: "rollback" }), pc.setRemoteDescription(description)]);
        } else {
          await pc.setRemoteDescription(description);
        }
      } finally {
        link.settingAnswer = false;
      }
      if (description.type === "offer") {
        await pc.setLocalDescription();
        this.#send(link, { description: pc.localDescription.toJSON() });
      }
    } else if (candidate && typeof candidate === "object") {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        note(link, `cand-err:${err?.name}`);
        if (!link.ignoreOffer) throw err;
      }
    }
  }

  // ── levels ──────────────────────────────────────────────────────────────────────────

  /** An AudioContext for the meters (none in a browser without WebAudio: levels stay 0). */
  #startAudio() {
    const AC = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    if (!AC) return;
    try {
      this.#audio = new AC();
      this.#audio.resume().catch(() => {});
      this.#selfMeter = this.#meter(this.#stream);
    } catch {
      this.#audio = null;
      return;
    }
    this.#levelTimer = setInterval(() => this.#measure(), LEVEL_MS);
  }

  /** An analyser on `stream` (not connected to the speakers: playback is the <audio>'s). */
  #meter(stream) {
    try {
      const source = this.#audio.createMediaStreamSource(stream);
      const analyser = this.#audio.createAnalyser();
      analyser.fftSize = 512;
      source.connect(analyser);
      return { source, analyser, buf: new Float32Array(analyser.fftSize) };
    } catch {
      return null;
    }
  }

  #measure() {
    if (this.#audio?.state === "suspended") this.#audio.resume().catch(() => {});
    const levels = new Map();
    const m = this.#selfMeter;
    levels.set(this.#me, m && !this.muted ? rms(m.analyser, m.buf) : 0);
    for (const [id, link] of this.#links) {
      levels.set(id, link.meter ? rms(link.meter.analyser, link.meter.buf) : 0);
    }
    this.dispatchEvent(Object.assign(new Event("levels"), { detail: levels }));
  }
}
