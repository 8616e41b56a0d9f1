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
 *     "tag":        "order-A-1"                       optional: replaces a shown notification
 *   }                                                  with the same tag
 *
 * On click the worker closes the notification, focuses a tab already on `url` or opens one, and
 * sends POST open_url {"token": open_token} (Content-Type: application/json, no credentials).
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

self.addEventListener("push", (event) => {
  const payload = parsePayload(event.data);
  const options = {
    body: payload.body || "",
    icon: payload.icon || undefined,
    image: payload.image || undefined,
    tag: payload.tag || undefined,
    data: { url: payload.url, open_url: payload.open_url, open_token: payload.open_token },
  };
  // Chrome shows a generic notice if a push shows nothing (userVisibleOnly), so always show one.
  const title = payload.title || new URL(self.registration.scope).host;
  event.waitUntil(self.registration.showNotification(title, options));
});

async function openOrFocus(url) {
  const target = new URL(url || "/", self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => client.url === target);
  if (open) return open.focus();
  return self.clients.openWindow(target);
}

async function reportOpen(openUrl, token) {
  if (!openUrl || !token) return;
  try {
    await fetch(openUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
  } catch (error) {
    // An unreported open only lowers the open rate; it must not keep the page from opening.
    console.warn("beacon: could not report the notification opening", error);
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(Promise.all([openOrFocus(data.url), reportOpen(data.open_url, data.open_token)]));
});
