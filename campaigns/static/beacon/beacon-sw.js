/*
 * Beacon service worker: shows Beacon's web push notifications and reports their opening.
 *
 * Host a copy at your site's root (https://your.site/beacon-sw.js, the SDK's default
 * `serviceWorkerUrl`) so that its scope covers every page. If your site already has a service
 * worker, add `importScripts("https://<beacon>/static/beacon/beacon-sw.js")` to it instead: a
 * scope has one worker.
 *
 * Push payload contract (JSON, UTF-8; Beacon's sender encrypts it, at most ~3.9 KB):
 *   {
 *     "title":      "Your order shipped",            required
 *     "body":       "It arrives on Tuesday.",         optional
 *     "icon":       "https://.../icon.png",           optional, small square image
 *     "image":      "https://.../banner.png",         optional, large image (Chrome, Edge)
 *     "url":        "https://your.site/orders/A-1",   opened (or focused) on click; default: "/"
 *     "open_url":   "https://<beacon>/api/v1/push/opened",   where the click is reported
 *     "open_token": "<opaque per-delivery token>",    proves which delivery was opened
 *     "tag":        "order-A-1",                      optional: replaces a shown notification
 *                                                      with the same tag
 *     "actions":    [{"action": "track", "title": "Track it", "url": "https://..."},
 *                    {"action": "later", "title": "Remind me"}]
 *   }               optional, at most 2 buttons: `action` is the button's id, `url` (optional)
 *                   what it opens instead of the notification's `url`
 *
 * On click the worker closes the notification, focuses a tab already on the URL or opens one
 * (the clicked button's `url`, else the notification's), and sends POST open_url
 * {"token": open_token, "button": <the button's id, when one was clicked>}
 * (Content-Type: application/json, no credentials). Beacon records a button's event, if it
 * tracks one, from that report.
 * A payload that is not JSON is shown as the body of a notification titled by the site's host.
 */
"use strict";

function parsePayload(data) {
  if (!data) return {};
  try {
    return data.json();
  } catch (_) {
    return { body: data.text() };
  }
}

function notificationOptions(payload) {
  const actions = Array.isArray(payload.actions) ? payload.actions : [];
  const buttonUrls = {};
  actions.forEach(({ action, url }) => {
    if (url) buttonUrls[action] = url;
  });
  return {
    body: payload.body || "",
    icon: payload.icon || undefined,
    image: payload.image || undefined,
    tag: payload.tag || undefined,
    actions: actions.map(({ action, title }) => ({ action, title })),
    data: {
      url: payload.url,
      open_url: payload.open_url,
      open_token: payload.open_token,
      button_urls: buttonUrls,
    },
  };
}

self.addEventListener("push", (event) => {
  const payload = parsePayload(event.data);
  // Chrome shows a generic notice if a push shows nothing (userVisibleOnly), so always show one.
  const title = payload.title || new URL(self.registration.scope).host;
  event.waitUntil(self.registration.showNotification(title, notificationOptions(payload)));
});

async function openOrFocus(url) {
  const target = new URL(url || "/", self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => client.url === target);
  if (open) return open.focus();
  return self.clients.openWindow(target);
}

async function reportOpen(openUrl, token, button) {
  if (!openUrl || !token) return;
  try {
    await fetch(openUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(button ? { token, button } : { token }),
    });
  } catch (error) {
    // An unreported open only lowers the open rate; it must not keep the page from opening.
    console.warn("beacon: could not report the notification opening", error);
  }
}

// `button`: the clicked action's id ("" for the notification itself). A track_event button has
// no url of its own: it opens the notification's (or focuses the site), like a plain click.
function handleClick(data, button) {
  const url = (button && (data.button_urls || {})[button]) || data.url;
  return Promise.all([openOrFocus(url), reportOpen(data.open_url, data.open_token, button)]);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(handleClick(event.notification.data || {}, event.action));
});
