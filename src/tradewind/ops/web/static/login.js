"use strict";
// The token goes to the server once, in a POST body; the answer sets the HttpOnly session cookie.
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = document.getElementById("token");
  const error = document.getElementById("login-error");
  error.textContent = "";
  let answer;
  try {
    answer = await fetch("/dashboard/login", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token: field.value}),
    });
  } catch (exc) {
    error.textContent = "The bot did not answer: " + exc;
    return;
  }
  field.value = "";
  if (answer.ok) {
    window.location.replace("/dashboard");
    return;
  }
  const body = await answer.json().catch(() => ({}));
  error.textContent = answer.status === 429
    ? "Too many failed logins from this address; wait a minute."
    : (body.detail || "Login refused (" + answer.status + ").");
});
