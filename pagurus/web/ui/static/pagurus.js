// Pagurus: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Close open menus (user menu, dropdowns) when clicking elsewhere.
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details.user-menu[open], details.dropdown[open]").forEach(function (d) {
      if (!d.contains(ev.target)) { d.removeAttribute("open"); }
    });
  });
  // Forms marked data-confirm ask before submitting (a destructive action).
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });
})();
