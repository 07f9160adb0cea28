/* Posters: "Share…" on <button data-share-poster data-share-text="…"
 * data-share-image="URL" data-share-file="name.png" data-copied="…">.
 *
 * Where the browser can share files (navigator.canShare({files})) the poster picture
 * goes with the text into the system share sheet; where it shares only text, the text
 * goes; without the Web Share API (desktop browsers, WeChat's in-app browser) the text is
 * copied and announced in the #copy-status live region, to paste beside the saved picture.
 * Delegated from the document, so a poster swapped in by htmx works too.
 */
(function () {
  "use strict";

  function say(button, message) {
    var region = document.getElementById("copy-status");
    if (region) {
      region.textContent = "";
      window.setTimeout(function () { region.textContent = message; }, 50);
    }
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = message;
    window.setTimeout(function () { button.textContent = button.dataset.label; }, 2500);
  }

  function copyText(button, text) {
    var done = function () { say(button, button.dataset.copied); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { legacy(text); done(); });
    } else {
      legacy(text);
      done();
    }
  }

  function legacy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (error) { /* nothing more to try */ }
    area.remove();
  }

  // The picture is fetched as the page opens: a share sheet must open within the tap's
  // short "user activation", which a download started on the tap may outlast (Safari).
  var files = {};

  function prepare(root) {
    if (!navigator.canShare || typeof File === "undefined") {
      return;
    }
    root.querySelectorAll("[data-share-poster]").forEach(function (button) {
      var url = button.dataset.shareImage;
      if (files[url]) {
        return;
      }
      files[url] = fetch(url, { credentials: "same-origin" })
        .then(function (response) { return response.blob(); })
        .then(function (blob) {
          files[url] = new File([blob], button.dataset.shareFile || "poster.png",
            { type: "image/png" });
        })
        .catch(function () { delete files[url]; });
    });
  }

  function sharePoster(button) {
    var text = button.dataset.shareText || "";
    var file = files[button.dataset.shareImage];
    var data = { text: text };
    if (file instanceof File && navigator.canShare({ files: [file] })) {
      data = { text: text, files: [file] };
    }
    if (!navigator.share) {
      copyText(button, text);
      return;
    }
    navigator.share(data).catch(function (error) {
      if (!error || error.name !== "AbortError") {
        copyText(button, text);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { prepare(document); });
  document.addEventListener("htmx:afterSwap", function (event) { prepare(event.target); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-share-poster]");
    if (button) {
      event.preventDefault();
      sharePoster(button);
    }
  });
}());
