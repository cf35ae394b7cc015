// A live event stream view: reads the SSE stream with fetch (EventSource cannot take events of
// any name), newest on top, pause and resume without loss (resume replays from the last event
// id), a visible reconnecting state, a watchdog for silent stalls, and an events-per-second chart.
import { api, formatTime } from "./api.js";

const maxRows = 500;
const stallAfter = 20000; // The server sends a keepalive at least every 9 s.

// The id of the newest event in the log, or null if it cannot be read.
async function newestId() {
  try {
    const health = await api("GET", "/healthz");
    return Number.isInteger(health?.last_event_id) ? String(health.last_event_id) : null;
  } catch {
    return null;
  }
}

export function watchStream(section, path, since) {
  const status = section.querySelector(".status");
  const pauseButton = section.querySelector(".pause");
  const note = section.querySelector(".paused-note");
  const rows = section.querySelector(".event-rows");
  const canvas = section.querySelector("canvas.rate");
  const counts = new Array(60).fill(0);
  let lastId = since !== undefined && since !== null && since !== "" ? String(since) : null;
  let controller = null;
  let paused = false;
  let attempt = 0;
  let retryTimer = null;
  let generation = 0;

  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  function connect() {
    clearTimeout(retryTimer);
    const mine = ++generation;
    controller = new AbortController();
    const url = lastId === null ? path : `${path}${path.includes("?") ? "&" : "?"}last_event_id=${encodeURIComponent(lastId)}`;
    setStatus(attempt === 0 ? "Connecting…" : "Reconnecting…", attempt === 0 ? "connecting" : "reconnecting");
    read(url, controller.signal, mine).then(
      () => retry(mine, "the stream ended"),
      (error) => retry(mine, error?.message ?? "connection lost"),
    );
  }

  function retry(mine, reason) {
    if (paused || mine !== generation) return;
    if (reason === "stopped") return;
    attempt += 1;
    const delay = Math.min(15000, 1000 * 2 ** Math.min(attempt - 1, 4));
    setStatus(`Reconnecting in ${Math.round(delay / 1000)} s (${reason})`, "reconnecting");
    retryTimer = setTimeout(connect, delay);
  }

  async function read(url, signal, mine) {
    const response = await fetch(url, { signal, credentials: "same-origin", headers: { Accept: "text/event-stream" } });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json()).error ?? message;
      } catch {
        // Not JSON: keep the status.
      }
      if ([400, 401, 403, 404].includes(response.status)) {
        setStatus(`Stopped: ${message}`, "error");
        throw new Error("stopped");
      }
      throw new Error(message);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = { name: "message", data: [], id: null };
    let watchdog = setTimeout(() => controller.abort(), stallAfter);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || mine !== generation) return;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), stallAfter);
        buffer += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
          if (line === "") {
            if (event.data.length > 0) dispatch(event);
            event = { name: "message", data: [], id: null };
            continue;
          }
          if (line.startsWith(":")) {
            if (line.startsWith(":ok")) {
              attempt = 0;
              setStatus("Live", "live");
            }
            continue;
          }
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? "" : line.slice(colon + 1);
          if (text.startsWith(" ")) text = text.slice(1);
          if (field === "event") event.name = text;
          else if (field === "data") event.data.push(text);
          else if (field === "id") event.id = text;
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  function dispatch(event) {
    if (event.id !== null) lastId = event.id;
    let payload = {};
    try {
      payload = JSON.parse(event.data.join("\n"));
    } catch {
      payload = { data: event.data.join("\n") };
    }
    counts[counts.length - 1] += 1;
    const row = document.createElement("tr");
    row.dataset.id = event.id ?? "";
    row.dataset.name = event.name;
    const time = document.createElement("td");
    time.className = "time";
    time.textContent = formatTime(payload.published_at);
    time.title = payload.published_at ?? "";
    const name = document.createElement("td");
    name.className = "name";
    name.textContent = event.name;
    const device = document.createElement("td");
    device.className = "device";
    const coreid = payload.coreid ?? "";
    if (/^[0-9a-f]{24}$/.test(coreid)) {
      const link = document.createElement("a");
      link.href = `/console/devices/${coreid}`;
      link.textContent = coreid;
      link.className = "id";
      link.title = coreid;
      device.append(link);
    } else {
      device.textContent = coreid;
    }
    const data = document.createElement("td");
    data.className = "data";
    data.append(renderData(payload.data));
    row.append(time, name, device, data);
    rows.prepend(row);
    while (rows.children.length > maxRows) rows.lastElementChild.remove();
  }

  function renderData(text) {
    if (text === undefined || text === null) return document.createTextNode("");
    try {
      const value = JSON.parse(text);
      if (value !== null && typeof value === "object") {
        const pre = document.createElement("pre");
        pre.textContent = JSON.stringify(value, null, 2);
        return pre;
      }
    } catch {
      // Not JSON: shown as is.
    }
    return document.createTextNode(text);
  }

  function draw() {
    if (!canvas) return;
    const context = canvas.getContext("2d");
    const width = canvas.width;
    const height = canvas.height;
    context.clearRect(0, 0, width, height);
    const peak = Math.max(1, ...counts);
    const bar = width / counts.length;
    context.fillStyle = getComputedStyle(canvas).color || "#2563eb";
    counts.forEach((count, index) => {
      const h = (count / peak) * (height - 12);
      context.fillRect(index * bar, height - h, Math.max(1, bar - 1), h);
    });
    context.fillText(String(peak), 2, 10);
  }

  setInterval(() => {
    counts.shift();
    counts.push(0);
    draw();
  }, 1000);
  draw();

  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    pauseButton.setAttribute("aria-pressed", String(paused));
    note.hidden = !paused;
    if (paused) {
      generation += 1;
      clearTimeout(retryTimer);
      controller?.abort();
      setStatus("Paused", "paused");
    } else {
      attempt = 0;
      connect();
    }
  });

  connect();

  return {
    // Watches another stream from now on: from the log's newest event, so that a pause before
    // the first event arrives still replays what is published meanwhile.
    async restart(newPath) {
      path = newPath;
      lastId = null;
      rows.replaceChildren();
      generation += 1;
      controller?.abort();
      clearTimeout(retryTimer);
      attempt = 0;
      if (!paused) setStatus("Connecting…", "connecting");
      const mine = generation;
      const newest = await newestId();
      if (lastId === null) lastId = newest;
      if (mine === generation && !paused) connect();
    },
  };
}
