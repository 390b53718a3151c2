// What the desk and the ceremony share: a device whose token is entered once in the setup
// form (#setup) and kept in localStorage, and the work area (#work) shown once there is one.
import { pathId } from "/static/client.js";

/** The session the device posts to: /desk/{session_id}, /ceremony/{session_id}. */
export const sessionId = pathId();

const $ = (id) => document.getElementById(id);

/**
 * Wire the setup form and the change-token button; the token is kept under `tokenKey`.
 * The page's own steps: setup() fills the form's other fields as it is shown, saved() keeps
 * them when it is saved, work() fills the work area as it is shown, ready() runs whenever
 * there is a token to work with (at start and after each save).
 */
export function device(tokenKey, { setup = () => {}, saved = () => {}, work, ready = () => {} }) {
  function showSetup(message = "") {
    $("setup").hidden = false;
    $("work").hidden = true;
    $("setup-message").textContent = message;
    setup();
    $("setup-token").focus();
  }

  function showWork() {
    $("setup").hidden = true;
    $("work").hidden = false;
    work();
  }

  $("setup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(tokenKey, $("setup-token").value.trim());
    saved();
    $("setup-token").value = "";
    showWork();
    ready();
  });
  $("change-token").addEventListener("click", () => showSetup());

  return {
    showSetup,
    token: () => localStorage.getItem(tokenKey),
    /** Show the work area if the device has its token, else the setup form. */
    start() {
      if (localStorage.getItem(tokenKey)) {
        showWork();
        ready();
      } else {
        showSetup();
      }
    },
  };
}
