import { segment } from "./api.js";
import { watchStream } from "./stream.js";

const section = document.querySelector("section.stream");
const form = document.getElementById("stream-form");

function streamPath() {
  const scope = form.scope.value;
  const prefix = form.prefix.value.trim();
  const suffix = prefix ? "/" + prefix.split("/").map(segment).join("/") : "";
  if (scope.startsWith("product:")) return `/v1/products/${segment(scope.slice(8))}/events${suffix}`;
  if (scope.startsWith("device:")) return `/v1/devices/${segment(scope.slice(7))}/events${suffix}`;
  return `/v1/devices/events${suffix}`;
}

const view = watchStream(section, streamPath(), section.dataset.since);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  view.restart(streamPath());
});
