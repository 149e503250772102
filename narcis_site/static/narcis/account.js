// The visitor's part of the landing page. Its HTML is one cached copy for everyone, so who is signed in,
// their token count and the sign-up nudge come from /api/me, which also sets the CSRF cookie that the
// create flow's POSTs (and the Log out form) echo. create.js waits for `ready` before posting.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const csrfToken = () =>
    (document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")) || "=").split("=")[1];

  function show(me) {
    const role = me.authenticated ? "member" : "guest";
    document.querySelectorAll("[data-when]").forEach((element) => {
      element.hidden = element.dataset.when !== role;
    });
    if (me.authenticated) $("account-email").textContent = me.email;
    const balance = $("balance");
    if (balance) {
      balance.textContent = me.balance;
      balance.dataset.balance = me.balance;
      $("balance-unit").textContent = me.balance === 1 ? "token" : "tokens";
      $("cost").hidden = false;
    }
    const create = $("create");
    if (create) create.dataset.authenticated = String(me.authenticated);
    const nudge = $("signup-nudge");
    if (nudge) nudge.hidden = me.authenticated || me.balance > 1;
    return me;
  }

  async function refresh() {
    const response = await fetch("/api/me", { credentials: "same-origin" });
    if (!response.ok) throw new Error(`/api/me answered ${response.status}`);
    return show(await response.json());
  }

  const logout = $("logout");
  if (logout) {
    logout.addEventListener("submit", () => { logout.elements.csrfmiddlewaretoken.value = csrfToken(); });
  }
  window.narcisAccount = { refresh, csrfToken, ready: refresh().catch(() => null) };
})();
