// Web Push on the push settings page: subscribe this browser, or stop it.
// Loaded as a file (the CSP allows no inline script); texts come from data attributes.
(function () {
  "use strict";
  var panel = document.getElementById("push-browser");
  if (!panel) { return; }
  var status = document.getElementById("push-status");
  var enable = document.getElementById("push-enable");
  var disable = document.getElementById("push-disable");

  function say(key) { status.textContent = status.dataset[key] || ""; }
  function show(subscribed) {
    enable.parentNode.hidden = subscribed;
    disable.parentNode.hidden = !subscribed;
    say(subscribed ? "on" : "off");
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": panel.dataset.csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response;
    });
  }
  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) ||
      !("Notification" in window)) {
    say("unsupported");
    return;
  }
  var registration = navigator.serviceWorker.register(panel.dataset.workerUrl);

  registration.then(function (reg) { return reg.pushManager.getSubscription(); })
    .then(function (existing) { show(Boolean(existing)); })
    .catch(function () { say("unsupported"); });

  enable.addEventListener("click", function () {
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { say("denied"); return null; }
      return Promise.all([
        registration,
        fetch(panel.dataset.keyUrl).then(function (r) { return r.json(); })
      ]).then(function (both) {
        return both[0].pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(both[1].publicKey)
        });
      }).then(function (subscription) {
        return post(panel.dataset.subscribeUrl, subscription.toJSON());
      }).then(function () { show(true); });
    }).catch(function () { say("failed"); });
  });

  disable.addEventListener("click", function () {
    registration.then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (subscription) {
        if (!subscription) { return null; }
        var endpoint = subscription.endpoint;
        return subscription.unsubscribe().then(function () {
          return post(panel.dataset.unsubscribeUrl, {endpoint: endpoint});
        });
      })
      .then(function () { show(false); })
      .catch(function () { say("failed"); });
  });
}());
