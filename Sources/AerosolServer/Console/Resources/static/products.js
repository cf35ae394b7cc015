import { api, clearErrors, segment, showError, upload } from "./api.js";
import { watchStream } from "./stream.js";

const create = document.getElementById("create-product");
if (create) {
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(create);
    const body = { name: create.name.value.trim() };
    if (create.slug.value.trim()) body.slug = create.slug.value.trim();
    try {
      const answer = await api("POST", "/v1/products", body);
      location.assign(`/console/products/${segment(answer.product.slug)}`);
    } catch (error) {
      showError(create, error);
    }
  });
}

const add = document.getElementById("add-devices");
if (add) {
  const kept = sessionStorage.getItem("add-devices-result");
  if (kept !== null) {
    sessionStorage.removeItem("add-devices-result");
    add.querySelector(".result").textContent = kept;
  }
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(add);
    const ids = add.ids.value.split(/[\s,]+/).filter(Boolean);
    try {
      const answer = await api("POST", `/v1/products/${segment(add.dataset.product)}/devices`, { ids });
      const parts = [`added ${answer.updatedDeviceIds.length}`];
      if (answer.existingDeviceIds.length) parts.push(`already in: ${answer.existingDeviceIds.join(", ")}`);
      if (answer.nonmemberDeviceIds.length) parts.push(`in another product: ${answer.nonmemberDeviceIds.join(", ")}`);
      if (answer.invalidDeviceIds.length) parts.push(`not device IDs: ${answer.invalidDeviceIds.join(", ")}`);
      const result = parts.join("; ");
      if (answer.updatedDeviceIds.length) {
        // The list is the server's: reload it, and show the result again once it is there.
        sessionStorage.setItem("add-devices-result", result);
        location.reload();
      } else {
        add.querySelector(".result").textContent = result;
      }
    } catch (error) {
      showError(add, error);
    }
  });
}

const firmware = document.getElementById("upload-firmware");
if (firmware) {
  const product = segment(firmware.dataset.product);
  firmware.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(firmware);
    const body = new FormData();
    const file = firmware.file.files[0];
    if (!file) return;
    body.append("file", file, file.name);
    body.append("version", firmware.version.value.trim());
    body.append("title", firmware.title.value.trim());
    body.append("description", firmware.description.value.trim());
    try {
      await upload("POST", `/v1/products/${product}/firmware`, body);
      location.reload();
    } catch (error) {
      showError(firmware, error);
    }
  });
  for (const button of document.querySelectorAll("button.release")) {
    button.addEventListener("click", async () => {
      const result = document.getElementById("release-result");
      const version = Number(button.dataset.version);
      try {
        await api("PUT", `/v1/products/${product}/firmware/release`, { version, product_default: true });
        location.reload();
      } catch (error) {
        result.textContent = error.message;
      }
    });
  }
}

const section = document.querySelector("section.stream");
if (section) {
  const product = section.dataset.scope.slice("product:".length);
  watchStream(section, `/v1/products/${segment(product)}/events`, section.dataset.since);
}
