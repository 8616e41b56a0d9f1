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
 *                             maxAttempts (6), onResult(result) (called after each command),
 *                             presence (true: report @PRESENCE, below; false: don't),
 *                             presenceHeartbeat (300: seconds between reports of a page that
 *                             stays visible; at least 10).
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
 * Other SDKs' names, for a page moving from them: WonderPush's ["trackEvent", name, attributes]
 * is track, ["setUserId", id] identify (which also sends user_identified) and
 * ["subscribeToNotifications"] subscribePush; Customer.io's track(name, data) and reset() are
 * Beacon's own, and its identify({id, ...attributes}) is identify(id, attributes).
 *
 * Every command resolves (it never rejects) to {ok, status, body, attempts, error?, command,
 * args}. Network errors, 5xx and 429 are retried with exponential backoff and jitter; any other
 * answer, 400 included, is final. 503 means "retry later" (Beacon's database is unreachable)
 * and 429 "too many requests": both carry Retry-After, which the SDK waits instead (at most
 * 300 s; Beacon exposes the header to cross-origin pages). A retried event keeps its event_id,
 * so it is stored once. After maxAttempts tries (about half a minute) the command resolves with
 * ok: false.
 *
 * Presence: from init on, the time the page is visible is reported as the built-in @PRESENCE
 * event, params {start, end (RFC 3339), duration (seconds)}, event_time = end. A presence starts
 * when the page is (or becomes) visible and is reported when the page is hidden or left
 * (visibilitychange to hidden, pagehide), with fetch keepalive so the report survives the
 * unload. Throttling: a presence shorter than 1 s is not reported; reports are at most one per
 * 10 s, so a page hidden again within 10 s of the last report holds its presence, and if it
 * becomes visible again within 10 s the presence goes on (that short absence counts as
 * presence), else the held presence is reported then (or on pagehide, or 10 s after the last
 * report, whichever comes first); a page that stays visible is reported in slices, every
 * presenceHeartbeat seconds. Each report is one result with command "presence".
 */
(function () {
  "use strict";

  const STORAGE_PREFIX = "beacon.";
  const IDENTIFY_EVENT = "user_identified";
  const SDK_VERSION = "beacon-js/1";
  const COMMANDS = ["init", "track", "identify", "subscribePush", "reset"];
  // A Map, not an object: a command named "constructor" must not find Object's.
  const ALIASES = new Map([
    ["trackEvent", "track"],
    ["setUserId", "identify"],
    ["subscribeToNotifications", "subscribePush"],
  ]);
  const PRESENCE_EVENT = "@PRESENCE";
  const PRESENCE_MIN_MS = 1000; // shorter presences are not reported
  const PRESENCE_THROTTLE_MS = 10000; // at most one report per 10 s (leaving the page aside)
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
      if (this.config.presence !== false) this._watchPresence();
      const waiting = this.waiting.splice(0);
      for (const item of waiting) item.resolve(this.run(item.command));
      return this._done("init", [options]);
    }

    track(name, params) {
      return this._send("track", [name, params], { event_name: name, params: params || {} });
    }

    identify(userId, traits) {
      if (userId && typeof userId === "object" && traits === undefined) {
        ({ id: userId, ...traits } = userId); // Customer.io's identify({id, ...attributes})
      }
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
      const name = Array.isArray(command) ? ALIASES.get(command[0]) || command[0] : undefined;
      if (!COMMANDS.includes(name)) {
        return this._done(String(command && command[0]), [], "unknown command");
      }
      const args = command.slice(1);
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

    // Presence -----------------------------------------------------------------------------
    _watchPresence() {
      if (this.presence) return; // init given twice: one watcher
      // start: of the presence being measured (null: none); end: set while it is held (the
      // page is hidden but the report waits for the throttle); lastReport: when one was sent.
      this.presence = { start: null, end: null, lastReport: 0, timer: null };
      if (document.visibilityState === "visible") this.presence.start = Date.now();
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") this._presenceShown();
        else this._presenceHidden();
      });
      // Leaving the page: the last chance to report, whatever the throttle says.
      window.addEventListener("pagehide", () => this._presenceReport(this.presence.end ?? Date.now()));
      // Back from the back/forward cache: a new presence.
      window.addEventListener("pageshow", (event) => event.persisted && this._presenceShown());
      const heartbeat = Math.max(10, Number(this.config.presenceHeartbeat) || 300) * 1000;
      setInterval(() => {
        const p = this.presence;
        if (document.visibilityState === "visible" && p.start !== null && p.end === null) {
          this._presenceReport(Date.now(), true);
        }
      }, heartbeat);
    }

    _presenceShown() {
      const p = this.presence;
      const now = Date.now();
      if (p.start !== null && p.end !== null && now - p.end < PRESENCE_THROTTLE_MS) {
        p.end = null; // back quickly: the same presence goes on
        return;
      }
      if (p.start !== null && p.end !== null) this._presenceReport(p.end);
      if (p.start === null) p.start = now;
    }

    _presenceHidden() {
      const p = this.presence;
      if (p.start === null || p.end !== null) return;
      p.end = Date.now();
      const wait = p.lastReport + PRESENCE_THROTTLE_MS - p.end;
      if (wait <= 0) return this._presenceReport(p.end);
      clearTimeout(p.timer);
      p.timer = setTimeout(() => p.end !== null && this._presenceReport(p.end), wait);
    }

    /** Report the presence until `end` (if it lasted 1 s or more); `goesOn`: a heartbeat's
     * slice, the next presence starts at its end. */
    _presenceReport(end, goesOn = false) {
      const p = this.presence;
      const start = p.start;
      clearTimeout(p.timer);
      p.start = goesOn ? end : null;
      p.end = null;
      if (start === null || end - start < PRESENCE_MIN_MS) return;
      p.lastReport = Date.now();
      this._send("presence", [], {
        event_name: PRESENCE_EVENT,
        event_time: new Date(end).toISOString(),
        params: {
          start: new Date(start).toISOString(),
          end: new Date(end).toISOString(),
          duration: Math.round(end - start) / 1000,
        },
      });
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
