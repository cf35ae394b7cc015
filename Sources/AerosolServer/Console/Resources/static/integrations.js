// Webhook integrations: the form (create and edit) posts to the API as JSON and shows the API's
// validation errors next to their fields; an integration's page shows its state, deliveries and
// a chart of successes and failures, and can send a test event or delete it.
import { api, clearErrors, formatTime, segment, showError } from "./api.js";

const form = document.getElementById("integration-form");
const detail = document.getElementById("integration");
const objectFields = ["form", "query", "headers"];
const textFields = ["name", "event", "url", "deviceID", "body", "responseTemplate", "responseTopic", "errorResponseTopic"];

function base(product) {
  return product ? `/v1/products/${segment(product)}/integrations` : "/v1/integrations";
}

// The definition the form describes, or throws an error naming the field at fault.
function definition(editing) {
  const body = { integration_type: "Webhook", requestType: form.requestType.value };
  for (const name of textFields) {
    const value = form[name].value.trim();
    if (value) body[name] = value;
  }
  const json = form.json.value.trim();
  if (json) {
    try {
      body.json = JSON.parse(json);
    } catch {
      body.json = json; // A string template.
    }
  }
  for (const name of objectFields) {
    const text = form[name].value.trim();
    if (!text) continue;
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      value = null;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new Error(`${name} must be a JSON object of templates, like {"key": "value"}`);
    }
    body[name] = value;
  }
  if (form.authUsername.value) {
    body.auth = { username: form.authUsername.value, password: form.authPassword.value };
  }
  if (form.rateLimit.value !== "") body.rateLimit = Number(form.rateLimit.value);
  if (form.secret.value) body.secret = form.secret.value;
  else if (!editing) delete body.secret;
  body.noDefaults = form.noDefaults.checked;
  body.rejectUnauthorized = form.rejectUnauthorized.checked;
  body.disabled = form.disabled.checked;
  return body;
}

function fill(hook) {
  for (const name of textFields) form[name].value = hook[name] ?? "";
  form.requestType.value = hook.requestType ?? "POST";
  form.json.value = hook.json === undefined ? "" : typeof hook.json === "string" ? hook.json : JSON.stringify(hook.json);
  for (const name of objectFields) form[name].value = hook[name] ? JSON.stringify(hook[name]) : "";
  form.authUsername.value = hook.auth?.username ?? "";
  form.rateLimit.value = hook.rateLimit ?? "";
  form.noDefaults.checked = Boolean(hook.noDefaults);
  form.rejectUnauthorized.checked = hook.rejectUnauthorized !== false;
  form.disabled.checked = Boolean(hook.disabled);
  form.secret.placeholder = hook.has_secret ? "(set; leave empty to keep it)" : "";
  // A new webhook has no secret to keep: the label says so only when editing one that has.
  const note = form.querySelector(".secret-empty");
  if (note) note.textContent = hook.has_secret ? "empty keeps the current one" : "empty: requests are not signed";
}

if (form && !detail) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const product = form.scope.value;
      const created = await api("POST", base(product), definition(false));
      location.assign(`/console/integrations/${segment(created.id)}${product ? `?product=${segment(product)}` : ""}`);
    } catch (error) {
      showError(form, error);
    }
  });
}

if (detail) {
  const id = detail.dataset.id;
  const product = detail.dataset.product;
  const path = `${base(product)}/${segment(id)}`;
  const result = document.getElementById("action-result");
  form.scope.value = product;
  form.scope.disabled = true;

  api("GET", path).then(fill, (error) => showError(form, error));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      fill(await api("PUT", path, definition(true)));
      form.secret.value = "";
      form.authPassword.value = "";
      form.querySelector(".form-error").textContent = "Saved.";
    } catch (error) {
      showError(form, error);
    }
  });

  document.getElementById("test-integration").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await api("POST", `${path}/test`, { data: event.target.data.value });
      result.textContent = `Test event queued (delivery ${answer.delivery_id}).`;
      refresh();
    } catch (error) {
      result.textContent = error.message;
    }
  });

  document.getElementById("delete-integration").addEventListener("click", async () => {
    if (!confirm("Delete this integration? Its waiting deliveries are dropped.")) return;
    try {
      await api("DELETE", path);
      location.assign("/console/integrations");
    } catch (error) {
      result.textContent = error.message;
    }
  });

  const rows = document.querySelector("#deliveries tbody");
  const chart = document.getElementById("delivery-chart");

  async function refresh() {
    let log;
    try {
      log = await api("GET", `${path}/deliveries?limit=200`);
    } catch (error) {
      result.textContent = error.message;
      return;
    }
    const state = document.getElementById("hook-state");
    state.textContent = log.status.state;
    state.className = `badge ${log.status.state}`;
    document.getElementById("hook-reason").textContent = [
      log.status.reason,
      log.status.waiting ? `${log.status.waiting} waiting` : "",
    ]
      .filter(Boolean)
      .join(" · ");
    rows.replaceChildren(
      ...log.deliveries.map((attempt) => {
        const row = document.createElement("tr");
        row.className = attempt.outcome;
        const cells = [
          formatTime(attempt.time),
          attempt.event,
          String(attempt.attempt),
          attempt.status === null ? attempt.error ?? "" : String(attempt.status),
          `${attempt.duration_ms} ms`,
          attempt.outcome,
          attempt.next_retry_at ? formatTime(attempt.next_retry_at) : "",
        ];
        // Labels for the card each row becomes on a phone; the time is the card's title.
        const labels = [null, "Event", "Attempt", "Status", "Duration", "Outcome", "Next retry"];
        cells.forEach((text, index) => {
          const cell = document.createElement("td");
          cell.textContent = text;
          if (labels[index]) cell.dataset.label = labels[index];
          else cell.className = "title time";
          row.append(cell);
        });
        return row;
      }),
    );
    draw(log.deliveries);
  }

  // Successes (up) and failures (down) per minute over the last hour.
  function draw(attempts) {
    const context = chart.getContext("2d");
    const { width, height } = chart;
    const minutes = 60;
    const now = Date.now();
    const good = new Array(minutes).fill(0);
    const bad = new Array(minutes).fill(0);
    for (const attempt of attempts) {
      const age = Math.floor((now - new Date(attempt.time).getTime()) / 60000);
      if (age < 0 || age >= minutes) continue;
      const slot = minutes - 1 - age;
      if (attempt.outcome === "delivered") good[slot] += 1;
      else bad[slot] += 1;
    }
    const peak = Math.max(1, ...good, ...bad);
    const middle = height / 2;
    const bar = width / minutes;
    context.clearRect(0, 0, width, height);
    context.fillStyle = "#15803d";
    good.forEach((count, index) => {
      const h = (count / peak) * (middle - 2);
      context.fillRect(index * bar, middle - h, Math.max(1, bar - 1), h);
    });
    context.fillStyle = "#b91c1c";
    bad.forEach((count, index) => {
      const h = (count / peak) * (middle - 2);
      context.fillRect(index * bar, middle, Math.max(1, bar - 1), h);
    });
    context.fillStyle = "#6b7280";
    context.fillRect(0, middle, width, 1);
  }

  refresh();
  setInterval(refresh, 3000);
}
