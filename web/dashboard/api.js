// The dashboard's only way to the master: the /api/v1 routes of the page's own origin, with
// the API token of this tab, when one was given.
"use strict";

const TOKEN_KEY = "dm.apiToken";

const api = {
  token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  },
  setToken(t) {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  },

  // request answers {ok, status, data, master, error}; error is "error_msg (error_code N)"
  // from the API's template, or why no answer came. It never throws.
  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = api.token();
    if (token) headers.Authorization = "Bearer " + token;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, data: null, master: "", error: "the master cannot be reached: " + e.message };
    }
    const master = resp.headers.get("X-Dm-Master") || "";
    const text = await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (resp.ok) return { ok: true, status: resp.status, data, master, error: "" };
    let error = `HTTP ${resp.status}`;
    if (data && typeof data.error_msg === "string") {
      error = data.error_msg + (data.error_code !== undefined ? ` (error_code ${data.error_code})` : "");
    } else if (text) {
      error += ": " + text.slice(0, 300);
    }
    return { ok: false, status: resp.status, data, master, error };
  },
  get(path) {
    return api.request("GET", path);
  },
};
