/* The board: drag a task to another lane or place with the mouse or a finger.
 *
 * Progressive enhancement over the "Lane / Place / Move" form under every task, which stays
 * the way to move a task with the keyboard (and without JavaScript). A drop posts that same
 * form to the same address, with the form's CSRF token, and the page the server answers
 * with replaces the board (fedi/static/js/live.js, window.fediLive).
 */
(function () {
  "use strict";

  var dragged = null;

  function taskOf(node) {
    return node && node.closest ? node.closest("li.task[draggable='true']") : null;
  }

  function laneOf(node) {
    return node && node.closest ? node.closest(".lane[data-lane-id]") : null;
  }

  function clearMarks() {
    document.querySelectorAll(".lane.drop-target").forEach(function (lane) {
      lane.classList.remove("drop-target");
    });
  }

  /* Where in the lane the pointer is: 1 + the tasks whose middle is above it. */
  function placeIn(lane, y) {
    var place = 1;
    lane.querySelectorAll("li.task").forEach(function (task) {
      if (task === dragged) {
        return;
      }
      var box = task.getBoundingClientRect();
      if (box.top + box.height / 2 < y) {
        place += 1;
      }
    });
    return place;
  }

  document.addEventListener("dragstart", function (event) {
    var task = taskOf(event.target);
    if (!task) {
      return;
    }
    dragged = task;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", task.getAttribute("data-task-id") || "");
    task.classList.add("dragging");
    document.body.classList.add("is-dragging");
  });

  document.addEventListener("dragover", function (event) {
    var lane = laneOf(event.target);
    if (!dragged || !lane) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!lane.classList.contains("drop-target")) {
      clearMarks();
      lane.classList.add("drop-target");
    }
  });

  function finish() {
    clearMarks();
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    document.body.classList.remove("is-dragging");
  }

  document.addEventListener("drop", function (event) {
    var lane = laneOf(event.target);
    if (!dragged || !lane) {
      return;
    }
    event.preventDefault();
    var form = dragged.querySelector("form.move");
    var place = placeIn(lane, event.clientY);
    var laneId = lane.getAttribute("data-lane-id");
    var task = dragged;
    finish();
    if (!form || !window.fediLive) {
      return;
    }
    // Show the move at once; the server's answer replaces the board a moment later.
    var list = lane.querySelector("ol.tasks");
    if (list) {
      var before = null;
      var seen = 1;
      list.querySelectorAll("li.task").forEach(function (other) {
        if (other !== task && before === null) {
          if (seen === place) {
            before = other;
          }
          seen += 1;
        }
      });
      list.insertBefore(task, before);
    }
    window.fediLive.post(form, { lane_id: laneId, position: String(place) });
  });

  document.addEventListener("dragend", finish);
}());
