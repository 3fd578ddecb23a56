/* Live pages: server-sent events from /live, and forms that post without leaving the page.
 *
 * Progressive enhancement only: every page works without this script (forms post and the
 * server redirects back; a reload shows what others changed).
 *
 * - On an initiative page (an element with data-live-initiative) the script listens to
 *   /live?initiative=<id>; when something changes it fetches the same page again and swaps
 *   the parts marked data-live-region="<name>" for their fresh copies. The server renders
 *   them with the viewer's own permissions; events carry ids only.
 * - For a logged-in person it keeps the unread count of the Notifications link current.
 * - Forms marked data-live-form are posted with fetch; the page the server redirects to
 *   replaces the regions and shows its flash messages, so a posted message is in the list
 *   at once. A region in which someone is typing is left alone until they are done.
 *
 * Served from the instance (Content-Security-Policy: script-src 'self'); no library.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live-initiative]");
  var notifLink = document.querySelector('.main-nav a[href$="/notifications"]');
  if (!window.fetch || !window.DOMParser) {
    return;
  }
  var UNREAD = { nl: "ongelezen:", en: "unread:" };
  var pendingRefresh = false;
  var refreshTimer = null;
  var refreshing = false;
  var again = false;

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function status() {
    var box = document.getElementById("live-status");
    if (!box) {
      box = document.createElement("div");
      box.id = "live-status";
      box.className = "visually-hidden";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function announce(text) {
    if (text) {
      status().textContent = text;
    }
  }

  /* Someone is typing in (or dragging over) this region: do not pull it away. */
  function busy(region) {
    if (document.body.classList.contains("is-dragging")) {
      return true;
    }
    var active = document.activeElement;
    if (!active || active === document.body || !region.contains(active)) {
      return false;
    }
    var tag = active.tagName;
    if (tag === "TEXTAREA" || (tag === "INPUT" && active.type !== "hidden" &&
        active.type !== "submit" && active.type !== "button")) {
      return active.value !== active.defaultValue;
    }
    return tag === "SELECT";
  }

  function openDetails(region) {
    var open = [];
    region.querySelectorAll("details[open]").forEach(function (el) {
      var keyed = el.closest("[id]");
      if (keyed) {
        open.push(keyed.id + "|" + el.className);
      }
    });
    return open;
  }

  function reopen(region, open) {
    region.querySelectorAll("details").forEach(function (el) {
      var keyed = el.closest("[id]");
      if (keyed && open.indexOf(keyed.id + "|" + el.className) !== -1) {
        el.open = true;
      }
    });
  }

  /* Where the focus is in a region about to be replaced, to find it again in the copy: its
     id, or, for the links and buttons that have none (a task on the board, a form's
     button), its tag, destination and text. Without it a keyboard user's place was lost
     whenever someone else's change arrived. */
  function focusKey(el) {
    return {
      id: el.id || null,
      tag: el.tagName,
      href: el.getAttribute("href"),
      action: el.form ? el.form.getAttribute("action") : null,
      name: el.getAttribute("name"),
      text: (el.textContent || "").trim()
    };
  }

  function findFocus(region, key) {
    if (key.id) {
      return document.getElementById(key.id);
    }
    var found = null;
    region.querySelectorAll(key.tag).forEach(function (el) {
      var other = found ? null : focusKey(el);
      if (other && other.href === key.href && other.action === key.action &&
          other.name === key.name && other.text === key.text) {
        found = el;
      }
    });
    return found;
  }

  /* Replace every data-live-region of this page by its copy in doc. */
  function apply(doc) {
    var skipped = false;
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      var name = region.getAttribute("data-live-region");
      var fresh = doc.querySelector('[data-live-region="' + name + '"]');
      if (!fresh) {
        return;
      }
      if (busy(region)) {
        skipped = true;
        return;
      }
      var focused = null;
      if (document.activeElement && region.contains(document.activeElement)) {
        focused = focusKey(document.activeElement);
      }
      var open = openDetails(region);
      var copy = document.importNode(fresh, true);
      region.replaceWith(copy);
      reopen(copy, open);
      if (focused) {
        var target = findFocus(copy, focused);
        if (target) {
          target.focus();
        }
      }
    });
    pendingRefresh = skipped;
    document.dispatchEvent(new CustomEvent("live:updated"));
  }

  function showFlashes(doc) {
    var main = document.getElementById("main");
    if (!main) {
      return null;
    }
    main.querySelectorAll(".flashes").forEach(function (old) {
      old.remove();
    });
    var fresh = doc.querySelector(".flashes");
    if (!fresh) {
      return null;
    }
    var copy = document.importNode(fresh, true);
    copy.setAttribute("tabindex", "-1");
    main.insertBefore(copy, main.firstChild);
    return copy;
  }

  function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html) {
          apply(parse(html));
        }
      })
      .catch(function () { /* the next event or a reload will catch up */ })
      .then(function () {
        refreshing = false;
        if (again) {
          again = false;
          scheduleRefresh();
        }
      });
  }

  function scheduleRefresh() {
    if (refreshTimer === null) {
      // Several events of one change (a task and the progress) make one fetch. A visitor
      // who is not logged in may be answered from the server's page cache, which keeps a
      // public page for up to a second (fedi/http/web/cache.py): wait until it is stale.
      refreshTimer = window.setTimeout(function () {
        refreshTimer = null;
        refresh();
      }, notifLink ? 150 : 1100);
    }
  }

  /* A region left alone while someone typed is brought up to date once they leave it. */
  document.addEventListener("focusout", function () {
    if (pendingRefresh) {
      window.setTimeout(function () {
        if (pendingRefresh) {
          scheduleRefresh();
        }
      }, 50);
    }
  });

  function setUnread(count) {
    if (!notifLink) {
      return;
    }
    var badge = notifLink.querySelector(".badge");
    if (count <= 0) {
      if (badge) {
        badge.remove();
      }
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge";
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = (UNREAD[document.documentElement.lang] || UNREAD.en) + " ";
      badge.appendChild(hidden);
      badge.appendChild(document.createTextNode(""));
      notifLink.appendChild(document.createTextNode(" "));
      notifLink.appendChild(badge);
    }
    var last = badge.lastChild;
    if (!last || last.nodeType !== Node.TEXT_NODE) {
      last = document.createTextNode("");
      badge.appendChild(last);
    }
    last.nodeValue = String(count);
    badge.setAttribute("data-count", String(count));
  }

  /* Post a form with fetch and show the page the server answers with. */
  function post(form, extra) {
    var body = new URLSearchParams(new FormData(form));
    if (extra) {
      Object.keys(extra).forEach(function (key) {
        body.set(key, extra[key]);
      });
    }
    form.setAttribute("aria-busy", "true");
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      return response.text().then(function (html) {
        form.removeAttribute("aria-busy");
        var here = window.location.href.split("#")[0];
        var there = response.url.split("#")[0];
        if (response.ok && response.redirected && there !== here) {
          window.location.href = response.url;  // the server sent us elsewhere (a login)
          return;
        }
        var doc = parse(html);
        if (response.ok) {
          form.querySelectorAll("textarea").forEach(function (area) {
            area.value = "";
            area.defaultValue = "";
          });
          if (document.activeElement && form.contains(document.activeElement)) {
            document.activeElement.blur();
          }
          apply(doc);
        }
        var flashes = showFlashes(doc);
        if (flashes && !document.activeElement.closest("[data-live-region]")) {
          flashes.focus();
        }
      });
    }).catch(function () {
      form.removeAttribute("aria-busy");
      form.submit();  // no network answer: let the browser post it the ordinary way
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-live-form]")) {
      return;
    }
    event.preventDefault();
    var extra = null;
    if (event.submitter && event.submitter.name) {
      extra = {};
      extra[event.submitter.name] = event.submitter.value;
    }
    post(form, extra);
  });

  /* "just now" grows old while the page stays open: the relative times follow, in the
     page's language (the absolute time stays in the title). */
  function ageTimes() {
    if (!window.Intl || !Intl.RelativeTimeFormat) {
      return;
    }
    var format = new Intl.RelativeTimeFormat(document.documentElement.lang || "en",
                                             { numeric: "auto" });
    var steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [2592000, "day"],
                 [31536000, "month"], [Infinity, "year"]];
    var sizes = { second: 1, minute: 60, hour: 3600, day: 86400, month: 2592000,
                  year: 31536000 };
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var seconds = (Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000;
      if (isNaN(seconds) || Math.abs(seconds) < 60) {
        return;  // the server's "just now" is still true
      }
      for (var i = 0; i < steps.length; i += 1) {
        if (Math.abs(seconds) < steps[i][0]) {
          var unit = steps[i][1];
          el.textContent = format.format(Math.round(seconds / sizes[unit]), unit);
          return;
        }
      }
    });
  }
  window.setInterval(ageTimes, 60000);

  window.fediLive = { apply: apply, parse: parse, post: post, refresh: scheduleRefresh,
                      showFlashes: showFlashes, announce: announce };

  if (!window.EventSource || (!root && !notifLink)) {
    return;
  }
  var url = "/live";
  if (root) {
    url += "?initiative=" + encodeURIComponent(root.getAttribute("data-live-initiative"));
  }
  var readyOnce = false;
  var source = new EventSource(url);
  source.addEventListener("ready", function () {
    document.documentElement.setAttribute("data-live", "connected");
    if (readyOnce) {
      scheduleRefresh();  // reconnected: catch up with what was missed
    }
    readyOnce = true;
  });
  source.addEventListener("unread", function (event) {
    setUnread(JSON.parse(event.data).count || 0);
  });
  ["message", "comment", "task", "offer", "progress", "people", "initiative", "overflow"]
    .forEach(function (kind) {
      source.addEventListener(kind, function () {
        if (root) {
          announce(root.getAttribute("data-live-said-" + kind));
          scheduleRefresh();
        }
      });
    });
  source.addEventListener("gone", function () {
    source.close();
  });
  window.addEventListener("pagehide", function () {
    source.close();
  });
}());
