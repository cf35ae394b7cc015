// Calls to the REST API from the console: the session cookie signs them in; every request that
// changes something carries the page's CSRF token.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class APIError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return answer(await fetch(path, init));
}

/// A multipart upload (a firmware binary) with the session and the CSRF token.
export async function upload(method, path, formData) {
  const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
  return answer(await fetch(path, { method, headers, credentials: "same-origin", body: formData }));
}

// The JSON of a response, or an APIError with the API's message.
async function answer(response) {
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const message = json?.error_description ?? json?.error ?? `HTTP ${response.status}`;
    throw new APIError(message, response.status, json);
  }
  return json;
}

export const segment = (text) => encodeURIComponent(text);

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

// Shows an API error next to the field it names (the API's messages start with the field's
// name: "url must be…", "headers: …"), or under the form.
export function showError(form, error) {
  clearErrors(form);
  const message = error.message ?? String(error);
  const field = /^[A-Za-z]+/.exec(message)?.[0];
  const slot = field ? form.querySelector(`.field-error[data-for="${field}"]`) : null;
  const target = slot ?? form.querySelector(".form-error");
  if (target) target.textContent = message;
  const input = slot ? form.querySelector(`[name="${field}"]`) : null;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error, .form-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// Local times for every <time class="when">.
for (const element of document.querySelectorAll("time.when")) {
  const value = element.getAttribute("datetime");
  if (value && value !== "never") element.textContent = new Date(value).toLocaleString();
}
