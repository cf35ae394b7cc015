import { api, segment, upload } from "./api.js";
import { watchStream } from "./stream.js";

const device = document.getElementById("device-facts").dataset.device;

for (const item of document.querySelectorAll("li.variable")) {
  const output = item.querySelector("output");
  item.querySelector("button.read").addEventListener("click", async () => {
    output.textContent = "reading…";
    output.className = "value";
    try {
      const answer = await api("GET", `/v1/devices/${segment(device)}/${segment(item.dataset.name)}`);
      output.textContent = JSON.stringify(answer.result);
    } catch (error) {
      output.textContent = error.message;
      output.className = "value error";
    }
  });
}

for (const form of document.querySelectorAll("form.function")) {
  const output = form.querySelector("output");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    output.textContent = "calling…";
    output.className = "value";
    try {
      const answer = await api("POST", `/v1/devices/${segment(device)}/${segment(form.dataset.name)}`, {
        arg: form.arg.value,
      });
      output.textContent = `returned ${answer.return_value}`;
    } catch (error) {
      output.textContent = error.message;
      output.className = "value error";
    }
  });
}

const flash = document.querySelector("form.flash");
if (flash) {
  const output = flash.querySelector("output");
  flash.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = flash.file.files[0];
    if (!file) return;
    output.textContent = `uploading ${file.size} bytes…`;
    output.className = "value";
    const body = new FormData();
    body.append("file_type", "binary");
    body.append("file", file, file.name);
    try {
      const answer = await upload("PUT", `/v1/devices/${segment(device)}`, body);
      output.textContent = answer.status;
    } catch (error) {
      output.textContent = error.message;
      output.className = "value error";
    }
  });
}

const section = document.querySelector("section.stream");
watchStream(section, `/v1/devices/${segment(device)}/events`, section.dataset.since);
