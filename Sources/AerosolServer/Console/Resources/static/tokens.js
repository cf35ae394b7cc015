import { api, segment } from "./api.js";

for (const button of document.querySelectorAll("button.revoke")) {
  button.addEventListener("click", async () => {
    const row = button.closest("tr");
    button.disabled = true;
    try {
      // Holding a token is the right to revoke it (the API's DELETE /v1/access_tokens/:token).
      await api("DELETE", `/v1/access_tokens/${segment(row.dataset.token)}`);
      row.remove();
    } catch (error) {
      button.disabled = false;
      button.textContent = `Revoke (${error.message})`;
    }
  });
}
