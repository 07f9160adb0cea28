/* Distribution portal: small progressive enhancements (the pages work without them).
 *
 * - <button data-copy="ID" data-copied="Copied">: copies the value of the input #ID,
 *   announces it in the #copy-status live region (or one made on the fly) and on the
 *   button itself for a moment. Without the Clipboard API the input's text is selected
 *   so "Copy" from the system menu is one tap away.
 * - <button data-share="ID" data-share-title="…" hidden>: shown only where the Web Share
 *   API exists (phones); shares the URL in the input #ID.
 *
 * Listeners are delegated from the document, so content swapped in by htmx works too.
 * No inline handlers: the Content-Security-Policy forbids them.
 */
(function () {
  "use strict";

  function liveRegion() {
    var region = document.getElementById("copy-status");
    if (!region) {
      region = document.createElement("p");
      region.id = "copy-status";
      region.className = "sr-only";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  }

  function announce(button, message) {
    var region = liveRegion();
    region.textContent = "";
    // A fresh text node after clearing makes screen readers repeat the same message.
    window.setTimeout(function () { region.textContent = message; }, 50);
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

  // Tapping a read-only link field selects it whole, ready to copy by hand.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input.copy-source")) {
      event.target.select();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { revealShareButtons(document); });
  document.addEventListener("htmx:afterSwap", function (event) { revealShareButtons(event.target); });
})();
