/* Distribution portal: small progressive enhancements (the pages work without them).
 *
 * - <button data-copy="ID" data-copied="Copied">: copies the value of the input #ID,
 *   announces it in the #copy-status live region (or one made on the fly) and on the
 *   button itself for a moment. Without the Clipboard API the input's text is selected
 *   so "Copy" from the system menu is one tap away.
 * - <button data-share="ID" data-share-title="…" hidden>: shown only where the Web Share
 *   API exists (phones); shares the URL in the input #ID.
 * - <a data-fill="ID" data-value="…">: puts the value into the input #ID (e.g. "withdraw
 *   all") and fires its input event, so an htmx quote on it refreshes; the link itself
 *   reloads the page with the value for those without JavaScript.
 * - htmx swaps the person started (a click or a submit, not polling): when the swap took
 *   away the focused element, focus moves to where the result is — the first invalid
 *   field, else the message the response flashed into #flashes (a live region), else the
 *   swapped element itself. A result that flashed nothing and shows no alert is announced
 *   from the swapped element's status badge through the #swap-status live region.
 * - The confirm step (portal/confirm.py) swapped into #confirm-dialog opens as a modal
 *   <dialog> (focus on Cancel, Escape closes); closing it empties it and gives the focus
 *   back to what opened it. Its confirm button posts; the dialog closes as it does.
 *
 * - A tap on a bar chart (portal/centre/charts.py) picks the bar nearest to the tap, marks
 *   it and writes its day and amount into the chart's readout: values on tap, not hover.
 *
 * Listeners are delegated from the document, so content swapped in by htmx works too.
 * No inline handlers: the Content-Security-Policy forbids them.
 */
(function () {
  "use strict";

  function liveRegion(id) {
    var region = document.getElementById(id || "copy-status");
    if (!region) {
      region = document.createElement("p");
      region.id = id || "copy-status";
      region.className = "sr-only";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  }

  function say(message, regionId) {
    var region = liveRegion(regionId);
    region.textContent = "";
    // A fresh text node after clearing makes screen readers repeat the same message.
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  function announce(button, message) {
    say(message);
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = message;
    button.classList.add("copied");
    window.clearTimeout(button._portalTimer);
    button._portalTimer = window.setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("copied");
    }, 2000);
  }

  function selectInput(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
  }

  function legacyCopy(input) {
    selectInput(input);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input) {
      return;
    }
    var done = function () { announce(button, button.dataset.copied || "Copied"); };
    var fallback = function () {
      if (legacyCopy(input)) {
        done();
      } else {
        selectInput(input);  // the text stays selected for the system's own copy
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, fallback);
    } else {
      fallback();
    }
  }

  function share(button) {
    var input = document.getElementById(button.dataset.share);
    if (!input) {
      return;
    }
    navigator.share({ title: button.dataset.shareTitle || document.title, url: input.value })
      .catch(function () { /* the person closed the share sheet */ });
  }

  function revealShareButtons(root) {
    if (!navigator.share) {
      return;
    }
    root.querySelectorAll("[data-share][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-copy], [data-share]");
    if (!target) {
      return;
    }
    event.preventDefault();
    if (target.dataset.copy) {
      copy(target);
    } else {
      share(target);
    }
  });

  document.addEventListener("click", function (event) {
    var filler = event.target.closest("[data-fill]");
    var input = filler && document.getElementById(filler.dataset.fill);
    if (!input) {
      return;
    }
    event.preventDefault();
    input.value = filler.dataset.value;
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // Tapping a read-only link field selects it whole, ready to copy by hand.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input.copy-source")) {
      event.target.select();
    }
  });

  // --- htmx swaps: focus and announcement --------------------------------------------
  var flashesBefore = null;

  function moveFocus(element) {
    if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
  }

  document.addEventListener("htmx:beforeSwap", function () {
    var flashes = document.getElementById("flashes");
    flashesBefore = flashes ? flashes.innerHTML : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    var cause = config && config.triggeringEvent;
    var active = document.activeElement;
    if (!cause || !cause.isTrusted || (active && active !== document.body && active.isConnected)) {
      return;  // polling, or the focus survived the swap (typing in a field)
    }
    var target = event.detail.target;
    if (target && !target.isConnected && target.id) {
      target = document.getElementById(target.id);  // an outerHTML swap replaced it
    }
    if (!target) {
      return;
    }
    var flashes = document.getElementById("flashes");
    var flash = flashes && flashes.innerHTML !== flashesBefore && flashes.querySelector(".flash");
    var invalid = target.querySelector("[aria-invalid='true']");
    if (invalid) {
      moveFocus(invalid);
    } else if (flash) {
      moveFocus(flash);
    } else {
      moveFocus(target);
      var badge = target.querySelector(".badge");
      if (badge && !target.querySelector("[role='alert']")) {
        say(badge.textContent.trim(), "swap-status");
      }
    }
  });

  // --- the confirm step ---------------------------------------------------------------
  var confirmOpener = null;

  function confirmDialog() {
    var box = document.getElementById("confirm-dialog");
    return box && box.querySelector("dialog[data-confirm]");
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "confirm-dialog") {
      confirmOpener = document.activeElement;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "confirm-dialog") {
      return;
    }
    var dialog = confirmDialog();
    if (!dialog) {
      return;
    }
    dialog.addEventListener("close", function () {
      if (dialog.dataset.posting) {
        return;  // emptied once the confirmed request has its answer
      }
      dialog.remove();
      if (confirmOpener && confirmOpener.isConnected) {
        confirmOpener.focus();
      }
    });
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
    var cancel = dialog.querySelector("[data-confirm-cancel]");
    if (cancel) {
      cancel.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-confirm-cancel]");
    var dialog = cancel && cancel.closest("dialog");
    if (dialog) {
      dialog.close();
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog[data-confirm]");
    if (dialog) {
      dialog.dataset.posting = "1";
      dialog.close();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog[data-confirm]");
    if (dialog) {
      dialog.remove();
    }
  });

  document.addEventListener("click", function (event) {
    var svg = event.target.closest && event.target.closest("svg.chart");
    var chart = svg && svg.closest("div.chart");
    if (!chart) {
      return;
    }
    var nearest = null;
    var distance = Infinity;
    svg.querySelectorAll("rect.bar").forEach(function (bar) {
      var box = bar.getBoundingClientRect();
      var away = Math.abs(box.left + box.width / 2 - event.clientX);
      if (away < distance) {
        distance = away;
        nearest = bar;
      }
    });
    if (nearest) {
      svg.querySelectorAll("rect.bar.picked").forEach(function (bar) { bar.classList.remove("picked"); });
      nearest.classList.add("picked");
      var readout = chart.querySelector(".chart-readout");
      readout.textContent = nearest.dataset.readout;
      readout.classList.add("picked");
    }
  });

  document.addEventListener("DOMContentLoaded", function () { revealShareButtons(document); });
  document.addEventListener("htmx:afterSwap", function (event) { revealShareButtons(event.target); });
})();
