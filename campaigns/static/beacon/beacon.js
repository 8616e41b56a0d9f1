/*
 * Beacon browser SDK: one file, no dependencies, no build step.
 *
 * Paste into every page (calls made before this file has loaded wait in the array):
 *
 *   <script>
 *     window.beacon = window.beacon || [];
 *     beacon.push(["init", {apiKey: "bk_ingest_...", endpoint: "https://beacon.example.com"}]);
 *     beacon.push(["track", "purchase_completed", {order_id: "A-1", amount: 49.99}]);
 *   </script>
 *   <script async src="https://beacon.example.com/static/beacon/beacon.js"></script>
 *
 * Once loaded, `beacon.push([...])` runs the command at once and returns a Promise of its result;
 * `beacon.track(...)`, `beacon.identify(...)`, ... are the same commands as methods.
 *
 * Commands
 *   init(options)             apiKey (an ingest key: it can only send events, so it may be public),
 *                             endpoint (Beacon's base URL; default: where this file was loaded
 *                             from), serviceWorkerUrl ("/beacon-sw.js", hosted by the site at its
 *                             origin root), serviceWorkerScope (default: the worker's folder),
 *                             maxAttempts (6), onResult(result) (called after each command).
 *   track(name, params)       one event. Every event carries the browser's anonymous id (kept in
 *                             localStorage), the identified user id if any, its own event_id (so
 *                             a retried request is stored once) and the time of the call.
 *   identify(userId, traits)  remembers the user id and sends `user_identified` with the user id,
 *                             the anonymous id (Beacon gives that contact the user id, or merges
 *                             it into the contact that already has it) and the traits as params
 *                             (for segments; they do not change profile fields). A repeated
 *                             identify of the same user without traits sends nothing.
 *   subscribePush()           registers the service worker, asks for permission, subscribes with
 *                             Beacon's VAPID key and sends `push_permission_granted` with the
 *                             subscription as device_token (or `push_permission_denied`, with
 *                             push_permission_granted false).
 *   reset()                   forgets the user id and starts a new anonymous id (on logout).
 *
 * Every command resolves (it never rejects) to {ok, status, body, attempts, error?, command,
 * args}. Network errors, 5xx and 429 are retried with exponential backoff and jitter; any other
 * answer, 400 included, is final. 503 means "retry later" (Beacon's database is unreachable)
 * and 429 "too many requests": both carry Retry-After, which the SDK waits instead (at most
 * 300 s; Beacon exposes the header to cross-origin pages). A retried event keeps its event_id,
 * so it is stored once. After maxAttempts tries (about half a minute) the command resolves with
 * ok: false.
 */
(function () {
  "use strict";

  const STORAGE_PREFIX = "beacon.";
  const IDENTIFY_EVENT = "user_identified";
  const SDK_VERSION = "beacon-js/1";
  const COMMANDS = ["init", "track", "identify", "subscribePush", "reset"];
  const scriptOrigin = document.currentScript ? new URL(document.currentScript.src).origin : "";

  if (window.beacon && window.beacon.loaded) return; // the snippet was pasted twice

  // localStorage can be disabled or full (private modes): fall back to memory for this page.
  const memory = {};
  const storage = {
    get(key) {
      try {
        return window.localStorage.getItem(STORAGE_PREFIX + key);
      } catch (_) {
        return memory[key] ?? null;
      }
    },
    set(key, value) {
      memory[key] = value;
      try {
        if (value === null) window.localStorage.removeItem(STORAGE_PREFIX + key);
        else window.localStorage.setItem(STORAGE_PREFIX + key, value);
      } catch (_) {
        /* memory keeps it */
      }
    },
  };

  // crypto.randomUUID exists only in secure contexts; getRandomValues everywhere.
  function uuid4() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function anonymousId() {
    let id = storage.get("anonymous_id");
    if (!id) {
      id = uuid4();
      storage.set("anonymous_id", id);
    }
    return id;
  }

  // Beacon refuses a whole event for an unknown timezone or language, so send only values it
  // knows: an IANA name and a two-letter ISO 639-1 code.
  function browserLocale() {
    const locale = {};
    try {
      const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz && tz !== "Etc/Unknown") locale.timezone = tz;
    } catch (_) {
      /* no Intl: Beacon keeps what it had */
    }
    const language = (navigator.language || "").split("-")[0].toLowerCase();
    if (/^[a-z]{2}$/.test(language)) locale.language = language;
    return locale;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function retryable(status) {
    return status === 0 || status === 429 || status >= 500;
  }

  // 1 s, 2 s, 4 s, ... up to 30 s, each with +-50 % jitter so a recovering server is not hit by
  // every page at once; Retry-After (seconds) wins when the server gives it.
  function backoff(attempt, retryAfter) {
    const seconds = Number(retryAfter);
    if (retryAfter && Number.isFinite(seconds)) return Math.min(seconds, 300) * 1000;
    const base = Math.min(1000 * 2 ** (attempt - 1), 30000);
    return base * (0.5 + Math.random());
  }

  function base64UrlToBytes(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function sameBytes(buffer, bytes) {
    if (!buffer) return false;
    const a = new Uint8Array(buffer);
    return a.length === bytes.length && a.every((x, i) => x === bytes[i]);
  }

  class Beacon {
    constructor() {
      this.config = null;
      this.waiting = []; // commands given before init, run in order once it arrives
    }

    // Commands -----------------------------------------------------------------------------
    init(options) {
      if (!options || !options.apiKey) return this._done("init", [options], "apiKey is required");
      this.config = {
        serviceWorkerUrl: "/beacon-sw.js",
        maxAttempts: 6,
        ...options,
        endpoint: (options.endpoint || scriptOrigin).replace(/\/+$/, ""),
      };
      this.config.maxAttempts = Math.max(1, Number(this.config.maxAttempts) || 1);
      const waiting = this.waiting.splice(0);
      for (const item of waiting) item.resolve(this.run(item.command));
      return this._done("init", [options]);
    }

    track(name, params) {
      return this._send("track", [name, params], { event_name: name, params: params || {} });
    }

    identify(userId, traits) {
      if (userId === undefined || userId === null || String(userId).trim() === "") {
        return this._done("identify", [userId, traits], "userId is required");
      }
      userId = String(userId).trim();
      const hasTraits = traits && Object.keys(traits).length > 0;
      if (storage.get("user_id") === userId && !hasTraits) {
        return this._done("identify", [userId, traits], null, { skipped: true });
      }
      storage.set("user_id", userId);
      return this._send("identify", [userId, traits], {
        event_name: IDENTIFY_EVENT,
        params: traits || {},
      });
    }

    reset() {
      storage.set("user_id", null);
      storage.set("anonymous_id", null);
      return this._done("reset", []);
    }

    async subscribePush() {
      const args = [];
      if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.Notification) {
        return this._done("subscribePush", args, "web push is not supported by this browser");
      }
      try {
        const registration = await this._registerWorker();
        const permission = await Notification.requestPermission();
        if (permission === "default") {
          // Closed without an answer: the browser may ask again later, so nothing is recorded.
          return this._done("subscribePush", args, "the permission prompt was dismissed");
        }
        if (permission === "denied") {
          // An earlier subscription, if any, goes with it: Beacon records the opt-out.
          const old = await registration.pushManager.getSubscription();
          return this._sendSubscription(args, old, false);
        }
        const subscription = await this._subscribe(registration);
        return this._sendSubscription(args, subscription, true);
      } catch (error) {
        return this._done("subscribePush", args, String((error && error.message) || error));
      }
    }

    // Dispatch -----------------------------------------------------------------------------
    run(command) {
      if (!Array.isArray(command) || !COMMANDS.includes(command[0])) {
        return this._done(String(command && command[0]), [], "unknown command");
      }
      const [name, ...args] = command;
      if (name !== "init" && !this.config) {
        return new Promise((resolve) => this.waiting.push({ command, resolve }));
      }
      return this[name](...args);
    }

    // Push ---------------------------------------------------------------------------------
    async _registerWorker() {
      const options = this.config.serviceWorkerScope ? { scope: this.config.serviceWorkerScope } : {};
      const registration = await navigator.serviceWorker.register(this.config.serviceWorkerUrl, options);
      // pushManager.subscribe needs an active worker; a fresh registration is still installing.
      const worker = registration.installing || registration.waiting;
      if (!registration.active && worker) {
        await new Promise((resolve, reject) => {
          worker.addEventListener("statechange", () => {
            if (worker.state === "activated") resolve();
            if (worker.state === "redundant") reject(new Error("the service worker failed to install"));
          });
        });
      }
      return registration;
    }

    async _subscribe(registration) {
      const config = await this._request("GET", "/api/v1/push/config");
      if (!config.ok) throw new Error(`push config: HTTP ${config.status}`);
      const key = base64UrlToBytes(config.body.vapid_public_key);
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
        // Subscribed with another server key (Beacon's keys changed): pushes would fail.
        await subscription.unsubscribe();
        subscription = null;
      }
      return subscription || registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }

    _sendSubscription(args, subscription, granted) {
      const payload = {
        event_name: granted ? "push_permission_granted" : "push_permission_denied",
        platform: "web",
        push_permission_granted: granted,
      };
      if (subscription) payload.device_token = subscription.toJSON();
      return this._send("subscribePush", args, payload);
    }

    // Sending ------------------------------------------------------------------------------
    async _send(command, args, fields) {
      const payload = {
        event_id: uuid4(),
        event_time: new Date().toISOString(), // when it happened, not when a retry got through
        anonymous_id: anonymousId(),
        ...browserLocale(),
        context: { page_url: location.href, referrer: document.referrer || undefined, sdk: SDK_VERSION },
        ...fields,
      };
      const userId = storage.get("user_id");
      if (userId) payload.app_user_id = userId;
      const result = await this._request("POST", "/api/v1/events", payload);
      return this._report({ command, args, payload, ...result });
    }

    /** One API call with retries: resolves to {ok, status, body, attempts, error?}. */
    async _request(method, path, payload) {
      const body = payload === undefined ? undefined : JSON.stringify(payload);
      let result;
      for (let attempt = 1; attempt <= this.config.maxAttempts; attempt++) {
        result = await this._fetchOnce(method, path, body, attempt);
        result.attempts = attempt;
        if (!retryable(result.status) || attempt === this.config.maxAttempts) break;
        await sleep(backoff(attempt, result.retryAfter));
      }
      delete result.retryAfter;
      return result;
    }

    async _fetchOnce(method, path, body, attempt) {
      try {
        const response = await fetch(this.config.endpoint + path, {
          method,
          headers: { Authorization: `Bearer ${this.config.apiKey}`, "Content-Type": "application/json" },
          body,
          // Lets an event sent as the visitor leaves the page (a click on a link) complete. Only
          // the first try: keepalive requests share a 64 KB budget that, once spent, makes fetch
          // fail at once; the retry then goes without.
          keepalive: attempt === 1 && body !== undefined && body.length < 60000,
        });
        const text = await response.text();
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch (_) {
          /* not JSON (a proxy's error page): keep the text */
        }
        return {
          ok: response.ok,
          status: response.status,
          body: parsed,
          retryAfter: response.headers.get("Retry-After"),
        };
      } catch (error) {
        return { ok: false, status: 0, body: null, error: String((error && error.message) || error) };
      }
    }

    // Results ------------------------------------------------------------------------------
    _done(command, args, error, extra) {
      const result = { command, args, ok: !error, status: null, body: null, attempts: 0, ...extra };
      if (error) result.error = error;
      return Promise.resolve(this._report(result));
    }

    _report(result) {
      const onResult = this.config && this.config.onResult;
      if (typeof onResult === "function") {
        try {
          onResult(result);
        } catch (error) {
          console.error("beacon: onResult failed", error);
        }
      }
      if (!result.ok) console.warn(`beacon: ${result.command} failed`, result.status || "", result.error || result.body);
      return result;
    }
  }

  // Replace the queue with the SDK, run what was queued, and run later pushes at once.
  const sdk = new Beacon();
  const queued = Array.isArray(window.beacon) ? window.beacon : [];
  const api = {
    loaded: true,
    push: (command) => sdk.run(command),
    init: (options) => sdk.run(["init", options]),
    track: (name, params) => sdk.run(["track", name, params]),
    identify: (userId, traits) => sdk.run(["identify", userId, traits]),
    subscribePush: () => sdk.run(["subscribePush"]),
    reset: () => sdk.run(["reset"]),
    anonymousId: () => anonymousId(),
    userId: () => storage.get("user_id"),
  };
  window.beacon = api;
  for (const command of queued) sdk.run(command);
})();
